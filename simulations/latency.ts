import { type OperationMetrics, summarizeLatencies } from './report.js';

/**
 * Upper bounds (ms) of the histogram buckets: 1-2-5 steps, so one chart reads the same
 * whether a call took 3 ms or 3 s. The last bucket is open-ended.
 */
export const BUCKET_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000] as const;

/** A latency distribution as the report and its charts carry it. */
export interface LatencyHistogram {
  readonly count: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** `counts[i]` samples were ≤ `boundsMs[i]` (and above the bound before); the last count is above every bound. */
  readonly boundsMs: readonly number[];
  readonly counts: readonly number[];
}

/** Buckets a list of durations. */
export function histogramOf(samplesMs: readonly number[]): LatencyHistogram {
  const counts = new Array<number>(BUCKET_BOUNDS_MS.length + 1).fill(0);
  for (const ms of samplesMs) {
    const at = BUCKET_BOUNDS_MS.findIndex((bound) => ms <= bound);
    counts[at === -1 ? BUCKET_BOUNDS_MS.length : at]! += 1;
  }
  const sum = samplesMs.reduce((a, b) => a + b, 0);
  return {
    count: samplesMs.length,
    minMs: samplesMs.length === 0 ? 0 : Math.min(...samplesMs),
    maxMs: samplesMs.length === 0 ? 0 : Math.max(...samplesMs),
    meanMs: samplesMs.length === 0 ? 0 : Math.round((sum / samplesMs.length) * 10) / 10,
    boundsMs: [...BUCKET_BOUNDS_MS],
    counts,
  };
}

/** Durations per operation as a run measures them, with the time each operation's work spanned. */
export class LatencyBook {
  readonly #samples = new Map<string, number[]>();
  readonly #spanMs = new Map<string, number>();

  add(operation: string, ms: number): void {
    const list = this.#samples.get(operation) ?? [];
    list.push(Math.max(0, Math.round(ms)));
    this.#samples.set(operation, list);
  }

  /** The wall time the operation's samples were taken over, for its throughput. */
  span(operation: string, ms: number): void {
    this.#spanMs.set(operation, (this.#spanMs.get(operation) ?? 0) + ms);
  }

  samples(operation: string): readonly number[] {
    return this.#samples.get(operation) ?? [];
  }

  /** Percentiles and throughput per operation (the `metrics` of the report contract). */
  metrics(): Record<string, OperationMetrics> {
    const out: Record<string, OperationMetrics> = {};
    for (const [operation, list] of this.#samples) {
      out[operation] = summarizeLatencies(list, this.#spanMs.get(operation) ?? 0);
    }
    return out;
  }

  histograms(): Record<string, LatencyHistogram> {
    return Object.fromEntries([...this.#samples].map(([operation, list]) => [operation, histogramOf(list)]));
  }
}
