import { describe, expect, it } from 'vitest';
import { histogramOf, LatencyBook } from '../../simulations/latency.js';
import { countLine, Progress } from '../../simulations/progress.js';

describe('latency histograms', () => {
  it('puts each duration in the first bucket whose bound it does not exceed, and the slowest in the open one', () => {
    const h = histogramOf([0, 1, 2, 3, 20, 21, 25_000]);
    expect(h.counts[h.boundsMs.indexOf(1)]).toBe(2);
    expect(h.counts[h.boundsMs.indexOf(2)]).toBe(1);
    expect(h.counts[h.boundsMs.indexOf(5)]).toBe(1);
    expect(h.counts[h.boundsMs.indexOf(20)]).toBe(1);
    expect(h.counts[h.boundsMs.indexOf(50)]).toBe(1);
    expect(h.counts.at(-1)).toBe(1);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(7);
    expect(h).toMatchObject({ count: 7, minMs: 0, maxMs: 25_000 });
  });

  it('summarizes each operation with percentiles and a throughput over its span', () => {
    const book = new LatencyBook();
    for (let ms = 1; ms <= 100; ms++) book.add('exchange.fetch', ms);
    book.span('exchange.fetch', 2_000);
    expect(book.metrics()['exchange.fetch']).toEqual({
      count: 100,
      p50Ms: 50,
      p95Ms: 95,
      p99Ms: 99,
      throughputPerSecond: 50,
    });
    expect(book.histograms()['exchange.fetch']?.count).toBe(100);
  });
});

describe('progress', () => {
  it('prints counts with the rate so far and an ETA', () => {
    expect(countLine(12, 27, 'cities', 6_000)).toBe('12/27 cities (44 %, 2.0/s, ETA 8 s)');
    expect(countLine(27, 27, 'cities', 9_000)).toBe('27/27 cities (100 %, 3.0/s)');
  });

  it('prints a counting phase at most every two seconds, and always at the end', () => {
    let now = 0;
    const lines: string[] = [];
    const progress = new Progress((l) => lines.push(l), { nowMs: () => now } as never);
    const phase = progress.phase('exchange', 4, 'pairs');
    now = 500;
    phase.tick();
    now = 2_600;
    phase.tick();
    now = 2_700;
    phase.tick();
    phase.tick();
    now = 3_000;
    phase.done();
    expect(lines).toEqual([
      '[exchange] 0/4 pairs\n',
      '[exchange] 2/4 pairs (50 %, 0.8/s, ETA 3 s)\n',
      '[exchange] 4/4 pairs (100 %, 1.5/s)\n',
      '[exchange] done in 3.0 s\n',
    ]);
  });
});
