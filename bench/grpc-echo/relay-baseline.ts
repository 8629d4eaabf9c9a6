import { cpuMeter } from '../exchange-cpu.js';
import { benchTiming, measureThroughput, WARMUP_WINDOW_MS, warmUntilFlat } from '../load.js';
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
      const ramp = await warmUntilFlat(call, concurrency);
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
