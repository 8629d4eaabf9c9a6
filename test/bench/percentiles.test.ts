import { describe, expect, it } from 'vitest';
import { percentileOfSorted, percentilesOf } from '../../bench/percentiles.js';

/** Deterministic PRNG (mulberry32) so distribution tests never flake. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled(values: number[], seed: number): number[] {
  const next = random(seed);
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('percentiles (nearest rank)', () => {
  it('gives the exact ranks of 1..100 and 1..1000, whatever the input order', () => {
    expect(percentilesOf(shuffled(range(100), 1))).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
    expect(percentilesOf(shuffled(range(1000), 2))).toEqual({ count: 1000, p50: 500, p90: 900, p99: 990, max: 1000 });
  });

  it('never interpolates: every percentile is a sample', () => {
    const samples = [10, 20, 30, 40];
    const result = percentilesOf(samples);
    expect(result).toMatchObject({ p50: 20, p90: 40, p99: 40, max: 40 });
    expect(samples).toEqual([10, 20, 30, 40]);
  });

  it('sees a 2% tail at p99 and not at p90', () => {
    const samples = [...Array<number>(980).fill(1_000), ...Array<number>(20).fill(50_000)];
    expect(percentilesOf(shuffled(samples, 3))).toMatchObject({ p50: 1_000, p90: 1_000, p99: 50_000, max: 50_000 });
  });

  it('matches the quantiles of an exponential distribution (mean 1000) within 3%', () => {
    const next = random(4);
    const samples = Array.from({ length: 200_000 }, () => -1000 * Math.log(1 - next()));
    const result = percentilesOf(samples);
    for (const [p, value] of [
      [50, result.p50],
      [90, result.p90],
      [99, result.p99],
    ] as const) {
      const exact = -1000 * Math.log(1 - p / 100);
      expect(Math.abs(value - exact) / exact).toBeLessThan(0.03);
    }
  });

  it('handles one sample, no samples, and refuses out-of-range percentiles', () => {
    expect(percentilesOf([7])).toEqual({ count: 1, p50: 7, p90: 7, p99: 7, max: 7 });
    const empty = percentilesOf([]);
    expect(empty.count).toBe(0);
    expect(empty.p99).toBeNaN();
    expect(() => percentileOfSorted([1, 2], 0)).toThrow(RangeError);
    expect(() => percentileOfSorted([1, 2], 101)).toThrow(RangeError);
    expect(percentileOfSorted([1, 2], 100)).toBe(2);
  });
});
