import { cpuMeter } from '../exchange-cpu.js';
import { benchTiming, measureThroughput } from '../load.js';
import { type BenchContext, type BenchResult, benchResult } from '../result.js';
import type { EchoBaseline } from './baseline.js';
import { makeEchoCerts } from './certs.js';
import { type EchoClient, echoClient } from './client.js';
import type { EchoServer } from './fork-server.js';
import { startEchoRelay } from './relay.js';
import { startEchoServer } from './server.js';

export interface RelayBaselineOptions {
  /** Request (and response) size. Default 1,386 bytes: the JSON of the exchange's 10-record page. */
  readonly payloadBytes?: number;
  /** Calls in flight for the saturation run. Default 64, the echo's. */
  readonly concurrency?: number;
}

/** The bare two-hop figures: client here → relay process → echo server process, mTLS on both hops. */
export interface RelayBaseline {
  readonly payloadBytes: number;
  readonly concurrency: number;
  /** `grpc.relay.throughput`: saturation calls/s at `concurrency`. */
  readonly throughput: number;
  /** CPU ms per call of each process (`bench`, `relay`, `echo`), as `cpuMeter` prints it. */
  readonly cpuPerCall: string;
}

export const RELAY_DEFAULTS = Object.freeze({ payloadBytes: 1_386, concurrency: 64 });

/**
 * Measures the saturation throughput of the bare two-hop relay path: the ceiling any
 * two-hop path on this machine can reach, before the work it does on the way.
 */
export async function measureRelayBaseline(
  context: BenchContext,
  options: RelayBaselineOptions = {},
): Promise<RelayBaseline> {
  const payloadBytes = options.payloadBytes ?? RELAY_DEFAULTS.payloadBytes;
  const concurrency = options.concurrency ?? RELAY_DEFAULTS.concurrency;
  const certs = await makeEchoCerts();
  const echo = await startEchoServer(certs);
  let relay: EchoServer | undefined;
  let client: EchoClient | undefined;
  try {
    relay = await startEchoRelay(certs, echo.address);
    const forward = echoClient(relay.address, certs);
    client = forward;
    const payload = Buffer.alloc(payloadBytes, 0x5a);
    let calls = 0;
    const call = async (): Promise<void> => {
      const response = await forward.call(payload);
      if (response.length !== payloadBytes)
        throw new Error(`relay answered ${response.length} B, sent ${payloadBytes} B`);
      calls++;
    };
    // One round before the windows open: both TLS connections up, so a quick run's short
    // windows measure calls rather than handshakes.
    await Promise.all(Array.from({ length: concurrency }, call));
    if (!context.quick) {
      const ramp = await warmUp(call, concurrency);
      context.progress(`grpc.relay: warm-up, calls/s per ${WARMUP_WINDOW_MS} ms window: ${ramp.join(', ')}`);
    }
    calls = 0;
    context.progress(`grpc.relay: saturation, ${concurrency} in flight, ${payloadBytes} B, bench → relay → echo`);
    const meter = cpuMeter({ bench: process.pid, relay: relay.pid, echo: echo.pid });
    const throughput = await measureThroughput(call, { concurrency, ...benchTiming(context.quick) });
    const cpuPerCall = meter.perCall(calls);
    context.progress(`grpc.relay: ${throughput.toFixed(0)} calls/s; CPU ms per call: ${cpuPerCall}`);
    return { payloadBytes, concurrency, throughput, cpuPerCall };
  } finally {
    client?.close();
    await relay?.stop();
    await echo.stop();
  }
}

const WARMUP_WINDOW_MS = 1_000;
/** Windows in a row without a new best (by more than 5%) that end the warm-up, after at least `WARMUP_MIN_WINDOWS`. */
const WARMUP_FLAT_WINDOWS = 3;
const WARMUP_MIN_WINDOWS = 8;
const WARMUP_MAX_WINDOWS = 20;

/**
 * Saturates the path in short windows until its rate stops rising (`WARMUP_FLAT_WINDOWS`
 * in a row no more than 5% above the best before them), at least `WARMUP_MIN_WINDOWS` and
 * at most `WARMUP_MAX_WINDOWS`.
 * Three fresh processes ramp up for seconds on a busy machine (JIT; at a low rate each
 * call also pays its own syscalls and wake-ups, which keeps the rate low), and a ceiling
 * measured on the ramp would understate it. Resolves with each window's calls/s, rounded.
 */
async function warmUp(call: () => Promise<void>, concurrency: number): Promise<number[]> {
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

/**
 * `grpc.relay.throughput` against `grpc.echo.throughput`: its ratio is the most a
 * two-hop path can reach of the single-hop echo on this machine. A baseline's figure, so
 * no goal.
 */
export function relayThroughputResult(relay: RelayBaseline, echo: EchoBaseline): BenchResult {
  return benchResult({
    name: 'grpc.relay.throughput',
    value: relay.throughput,
    unit: '1/s',
    baseline: 'grpc.echo.throughput',
    baselineValue: echo.throughput,
  });
}
