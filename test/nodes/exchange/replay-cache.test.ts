import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryReplayCache } from '../../../nodes/exchange/index.js';
import { codeOf } from '../../support/anchor-harness.js';

describe('MemoryReplayCache', () => {
  it('sees a key once until its time, then forgets it', () => {
    const cache = new MemoryReplayCache();
    expect(cache.firstUse('a', 100, 10)).toBe(true);
    expect(cache.firstUse('a', 100, 99)).toBe(false);
    expect(cache.firstUse('b', 150, 99)).toBe(true);
    expect(cache.size).toBe(2);
    expect(cache.firstUse('a', 200, 100)).toBe(true);
    expect(cache.firstUse('c', 300, 150)).toBe(true);
    expect(cache.size).toBe(2);
  });

  it('keeps a key until the latest time it was presented with', () => {
    const cache = new MemoryReplayCache();
    expect(cache.firstUse('a', 100, 0)).toBe(true);
    expect(cache.firstUse('a', 150, 10)).toBe(false);
    expect(cache.firstUse('a', 150, 120)).toBe(false);
    expect(cache.firstUse('a', 300, 150)).toBe(true);
  });

  it('refuses with RATE_LIMITED when full of live entries instead of evicting one, and recovers as they expire', async () => {
    const cache = new MemoryReplayCache({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c']) expect(cache.firstUse(key, 100, 0)).toBe(true);
    expect(await codeOf(() => cache.firstUse('d', 100, 1))).toBe('RATE_LIMITED');
    expect(cache.firstUse('a', 100, 1)).toBe(false);
    expect(cache.firstUse('d', 200, 100)).toBe(true);
  });

  it('never reports a live key as new, and always forgets expired ones (against a model)', () => {
    const op = fc.record({
      key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
      ttl: fc.integer({ min: 1, max: 70 }),
      step: fc.integer({ min: 0, max: 30 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const cache = new MemoryReplayCache();
        const model = new Map<string, number>();
        let now = 0;
        for (const { key, ttl, step } of ops) {
          now += step;
          const known = model.get(key);
          const expected = known === undefined || known <= now;
          expect(cache.firstUse(key, now + ttl, now)).toBe(expected);
          model.set(key, Math.max(expected ? 0 : known!, now + ttl));
        }
      }),
      { numRuns: 200 },
    );
  });
});
