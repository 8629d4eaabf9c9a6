import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { measureLatency, measureThroughput } from '../../bench/load.js';

function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // a stall of the system under test: nothing else runs in this process meanwhile
  }
}

describe('measureThroughput', () => {
  it('counts completions per second of a closed loop', async () => {
    const rate = await measureThroughput(() => sleep(10), { concurrency: 4, durationMs: 400, warmupMs: 50 });
    // 4 workers, each call at least 10 ms: at most 400/s; timers overshoot a little.
    expect(rate).toBeLessThanOrEqual(410);
    expect(rate).toBeGreaterThan(200);
  });

  it('ends on time even when calls never touch I/O', async () => {
    const started = performance.now();
    const rate = await measureThroughput(async () => {}, { concurrency: 8, durationMs: 100 });
    expect(rate).toBeGreaterThan(10_000);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('rejects with the first failed call', async () => {
    let calls = 0;
    const failing = async (): Promise<void> => {
      await sleep(1);
      if (++calls === 5) throw new Error('boom');
    };
    await expect(measureThroughput(failing, { concurrency: 2, durationMs: 5_000 })).rejects.toMatchObject({
      cause: { message: 'boom' },
    });
  });

  it('refuses nonsense options', async () => {
    await expect(measureThroughput(async () => {}, { concurrency: 0, durationMs: 10 })).rejects.toThrow(RangeError);
  });
});

describe('measureLatency (open loop)', () => {
  it('records the service time of calls made at a constant rate', async () => {
    const result = await measureLatency(() => sleep(5), { ratePerSecond: 100, durationMs: 400, warmupMs: 50 });
    expect(result.count).toBeGreaterThanOrEqual(38);
    expect(result.count).toBeLessThanOrEqual(41);
    expect(result.p50).toBeGreaterThanOrEqual(5_000);
    expect(result.p50).toBeLessThan(30_000);
    expect(result.achievedRate).toBeGreaterThan(80);
  });

  it('charges a stall to every call it delayed (coordinated omission)', async () => {
    let calls = 0;
    const stallOnce = async (): Promise<void> => {
      if (++calls === 5) blockFor(300);
    };
    // 200/s for 500 ms: about 60 of the 100 calls fall due during the 300 ms stall. A
    // sender that waited for the stall would record one slow call; here they all count
    // from when they were due, so the median call is a delayed one.
    const result = await measureLatency(stallOnce, { ratePerSecond: 200, durationMs: 500 });
    expect(result.count).toBe(100);
    expect(result.max).toBeGreaterThanOrEqual(290_000);
    expect(result.p50).toBeGreaterThan(20_000);
  });

  it('rejects with the first failed call', async () => {
    await expect(
      measureLatency(() => Promise.reject(new Error('down')), { ratePerSecond: 50, durationMs: 100 }),
    ).rejects.toMatchObject({ cause: { message: 'down' } });
  });
});
