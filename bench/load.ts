import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises';
import { type Percentiles, percentilesOf } from './percentiles.js';

export type { Percentiles } from './percentiles.js';

/** A unit of load: one request/response, resolving when it is complete. */
export type LoadCall = () => Promise<void>;

/** Measurement windows every suite uses, so results of one run are comparable. */
export function benchTiming(quick: boolean): { readonly durationMs: number; readonly warmupMs: number } {
  return quick ? { durationMs: 300, warmupMs: 100 } : { durationMs: 5_000, warmupMs: 1_000 };
}

export interface ThroughputOptions {
  /** Calls in flight at any time (closed loop: each worker starts its next call when one completes). */
  readonly concurrency: number;
  readonly durationMs: number;
  /** Calls made before the window opens are not counted (JIT, connection setup, TLS). */
  readonly warmupMs?: number;
}

// A call that resolves without I/O would keep a worker in the microtask queue forever,
// starving the timers that end the run; yielding to the event loop now and then is
// free next to a real network call.
const YIELD_EVERY = 64;

/**
 * Saturation throughput in calls per second: `concurrency` workers call back-to-back;
 * completions inside the window are counted. Rejects with the first failed call.
 */
export async function measureThroughput(call: LoadCall, options: ThroughputOptions): Promise<number> {
  const concurrency = positiveInteger(options.concurrency, 'concurrency');
  const durationMs = positive(options.durationMs, 'durationMs');
  const warmupMs = options.warmupMs ?? 0;
  let completed = 0;
  let stopped = false;
  let failure: { error: unknown } | undefined;
  let failed: () => void = () => {};
  const failedSignal = new Promise<void>((resolve) => {
    failed = resolve;
  });
  const worker = async (): Promise<void> => {
    for (let mine = 1; !stopped; mine++) {
      try {
        await call();
      } catch (error) {
        failure ??= { error };
        stopped = true;
        failed();
        return;
      }
      completed++;
      if (mine % YIELD_EVERY === 0) await immediate();
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await Promise.race([sleep(warmupMs), failedSignal]);
  const startCount = completed;
  const startAt = performance.now();
  await Promise.race([sleep(durationMs), failedSignal]);
  const endCount = completed;
  const endAt = performance.now();
  stopped = true;
  await Promise.all(workers);
  if (failure !== undefined) throw new Error('a call failed during the throughput run', { cause: failure.error });
  return ((endCount - startCount) * 1000) / (endAt - startAt);
}

export interface LatencyOptions {
  /** Constant arrival rate: calls start on this schedule whether or not earlier ones completed. */
  readonly ratePerSecond: number;
  readonly durationMs: number;
  /** Calls scheduled before the window opens are made but not recorded. */
  readonly warmupMs?: number;
  /**
   * Beyond this many calls in flight the target rate is hopeless and the run fails
   * rather than queueing without bound. Default 10,000.
   */
  readonly maxInFlight?: number;
}

export interface LatencyResult extends Percentiles {
  readonly ratePerSecond: number;
  /** Recorded calls per second until the last of them completed; well below the target means overload. */
  readonly achievedRate: number;
}

/**
 * Latency percentiles (µs) under an open-loop schedule: call `i` is due at
 * `start + i / rate`, and its latency runs from when it was due, not from when it was
 * actually sent. A stall in the system under test (or in this process) therefore shows
 * up in every call it delayed instead of hiding behind a paused sender (coordinated
 * omission). Rejects with the first failed call.
 */
export async function measureLatency(call: LoadCall, options: LatencyOptions): Promise<LatencyResult> {
  const rate = positive(options.ratePerSecond, 'ratePerSecond');
  const durationMs = positive(options.durationMs, 'durationMs');
  const warmupMs = options.warmupMs ?? 0;
  const maxInFlight = options.maxInFlight ?? 10_000;
  const intervalMs = 1000 / rate;
  const total = Math.max(1, Math.floor(((warmupMs + durationMs) * rate) / 1000));
  const samples: number[] = [];
  const pending = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const startAt = performance.now();
  const recordFrom = startAt + warmupMs;
  const dueAt = (i: number): number => startAt + i * intervalMs;
  let lastCompletion = recordFrom;

  const fire = (due: number): void => {
    const done = call().then(
      () => {
        const now = performance.now();
        if (due < recordFrom) return;
        samples.push((now - due) * 1000);
        lastCompletion = Math.max(lastCompletion, now);
      },
      (error: unknown) => {
        failure ??= { error };
      },
    );
    pending.add(done);
    void done.then(() => pending.delete(done));
  };

  let next = 0;
  while (next < total && failure === undefined) {
    const now = performance.now();
    while (next < total && dueAt(next) <= now) fire(dueAt(next++));
    if (pending.size > maxInFlight) {
      failure ??= { error: new Error(`more than ${maxInFlight} calls in flight at ${rate.toFixed(0)}/s: overloaded`) };
    }
    if (next < total) await sleep(Math.max(0, dueAt(next) - performance.now()));
  }
  await Promise.all(pending);
  if (failure !== undefined) throw new Error('a call failed during the latency run', { cause: failure.error });
  // Until the last recorded completion: a backlog that drains after the schedule ends lowers it.
  const windowMs = Math.max(durationMs, lastCompletion - recordFrom);
  return { ...percentilesOf(samples), ratePerSecond: rate, achievedRate: (samples.length * 1000) / windowMs };
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}

export const WARMUP_WINDOW_MS = 1_000;
/** Windows in a row without a new best (by more than 5%) that end the warm-up, after at least `WARMUP_MIN_WINDOWS`. */
const WARMUP_FLAT_WINDOWS = 3;
const WARMUP_MIN_WINDOWS = 8;
const WARMUP_MAX_WINDOWS = 20;

/**
 * Saturates the path in short windows until its rate stops rising (`WARMUP_FLAT_WINDOWS`
 * in a row no more than 5% above the best before them), at least `WARMUP_MIN_WINDOWS` and
 * at most `WARMUP_MAX_WINDOWS`.
 * Fresh processes ramp up for seconds on a busy machine (JIT; at a low rate each
 * call also pays its own syscalls and wake-ups, which keeps the rate low), and a ceiling
 * measured on the ramp would understate it. Resolves with each window's calls/s, rounded.
 */
export async function warmUntilFlat(call: () => Promise<void>, concurrency: number): Promise<number[]> {
  const rates: number[] = [];
  let best = 0;
  let flat = 0;
  while (rates.length < WARMUP_MAX_WINDOWS && (rates.length < WARMUP_MIN_WINDOWS || flat < WARMUP_FLAT_WINDOWS)) {
    const rate = await measureThroughput(call, { concurrency, durationMs: WARMUP_WINDOW_MS });
    rates.push(Math.round(rate));
    flat = rate > best * 1.05 ? 0 : flat + 1;
    best = Math.max(best, rate);
  }
  return rates;
}

function positiveInteger(value: number, name: string): number {
  if (!(Number.isInteger(value) && value > 0)) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
