import { cpuMeter } from '../exchange-cpu.js';
import {
  benchTiming,
  type LatencyResult,
  measureLatency,
  measureThroughput,
  WARMUP_WINDOW_MS,
  warmUntilFlat,
} from '../load.js';
import type { BenchContext } from '../result.js';
import { makeEchoCerts } from './certs.js';
import { echoClient } from './client.js';
import { startEchoServer } from './server.js';

export interface EchoBaselineOptions {
  /** Request (and response) size. Default 32 bytes. */
  readonly payloadBytes?: number;
  /** Calls in flight for the saturation run. Default 64. */
  readonly concurrency?: number;
}

/** The bare grpc-js figures other suites compare against. */
export interface EchoBaseline {
  readonly payloadBytes: number;
  readonly concurrency: number;
  /** `grpc.echo.throughput`: saturation calls/s at `concurrency`. */
  readonly throughput: number;
  /** `grpc.echo.p99` and friends (µs), open loop at half of `throughput`. */
  readonly latency: LatencyResult;
}

export const ECHO_DEFAULTS = Object.freeze({ payloadBytes: 32, concurrency: 64 });

// One measurement per run and per option set: every suite of a run that compares
// against the bare echo compares against the same figures. The runner hands all suites
// of one run the same context object.
const measured = new WeakMap<BenchContext, Map<string, Promise<EchoBaseline>>>();

/**
 * Measures the bare grpc-js mTLS echo (server in its own process, client here):
 * saturation throughput, then latency at half of it. Memoized per run (context).
 */
export function measureEchoBaseline(context: BenchContext, options: EchoBaselineOptions = {}): Promise<EchoBaseline> {
  const payloadBytes = options.payloadBytes ?? ECHO_DEFAULTS.payloadBytes;
  const concurrency = options.concurrency ?? ECHO_DEFAULTS.concurrency;
  const key = `${payloadBytes}/${concurrency}`;
  let runs = measured.get(context);
  if (runs === undefined) {
    runs = new Map();
    measured.set(context, runs);
  }
  let result = runs.get(key);
  if (result === undefined) {
    result = measure(context, payloadBytes, concurrency);
    runs.set(key, result);
  }
  return result;
}

async function measure(context: BenchContext, payloadBytes: number, concurrency: number): Promise<EchoBaseline> {
  const timing = benchTiming(context.quick);
  const certs = await makeEchoCerts();
  const server = await startEchoServer(certs);
  const client = echoClient(server.address, certs);
  try {
    const payload = Buffer.alloc(payloadBytes, 0x5a);
    let calls = 0;
    const call = async (): Promise<void> => {
      await client.call(payload);
      calls++;
    };
    // Warmed like the relay (until its rate stops rising): a baseline measured on its ramp
    // would understate the echo and flatter every ratio taken against it.
    if (!context.quick) {
      const ramp = await warmUntilFlat(call, concurrency);
      context.progress(`grpc.echo: warm-up, calls/s per ${WARMUP_WINDOW_MS} ms window: ${ramp.join(', ')}`);
    }
    context.progress(`grpc.echo: saturation, ${concurrency} in flight, ${payloadBytes} B`);
    const meter = cpuMeter({ bench: process.pid, echo: server.pid });
    const throughput = await measureThroughput(call, { concurrency, ...timing });
    context.progress(
      `grpc.echo: ${throughput.toFixed(0)} calls/s; CPU ms per call: ${meter.perCall(calls)}; ` +
        `latency at ${(throughput / 2).toFixed(0)}/s`,
    );
    const latency = await measureLatency(call, { ratePerSecond: throughput / 2, ...timing });
    context.progress(
      `grpc.echo: p50 ${latency.p50.toFixed(0)} µs, p90 ${latency.p90.toFixed(0)} µs, p99 ${latency.p99.toFixed(0)} µs, ` +
        `max ${latency.max.toFixed(0)} µs; ${latency.achievedRate.toFixed(0)}/s achieved`,
    );
    return { payloadBytes, concurrency, throughput, latency };
  } finally {
    client.close();
    await server.stop();
  }
}
