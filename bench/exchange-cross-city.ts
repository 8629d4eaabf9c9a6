import type * as grpc from '@grpc/grpc-js';
import { fromServiceError } from '../common/errors/grpc.js';
import type { AppClients } from '../nodes/index.js';
import type { FetchRecordsRequest, FetchRecordsResponse } from '../proto/gen/citymesh/v1/dataset_service.js';
import { HOME_CITY, PEER_CITY, startExchangeCluster } from './exchange-cluster.js';
import { cpuMeter } from './exchange-cpu.js';
import { measureEchoBaseline, measureRelayBaseline, relayThroughputResult } from './grpc-echo/index.js';
import { benchTiming, type LoadCall, measureLatency, measureThroughput } from './load.js';
import { type BenchContext, type BenchResult, type BenchSuite, benchResult } from './result.js';

/** Small pages (about 1.4 KB of records) keep the transfer small, so the ratio measures the security path more than bytes. */
const PAGE_SIZE = 10;
/** The relay baseline's payload: the JSON of one page of the fixture's records (checked against the first call). */
const PAGE_JSON_BYTES = 1_386;
const PURPOSE = 'cross-city-planning';

/** One FetchRecords through the home node; fails unless it carries the provider's receipt and a full page. */
function fetchCall(app: AppClients, datasetId: string): () => Promise<FetchRecordsResponse> {
  const request: FetchRecordsRequest = {
    datasetId,
    purpose: PURPOSE,
    afterSequence: 0,
    agreementId: '',
    pageSize: PAGE_SIZE,
    pageToken: '',
  };
  return () =>
    new Promise((resolve, reject) => {
      app.datasets.fetchRecords(request, (err: grpc.ServiceError | null, response: FetchRecordsResponse) => {
        if (err) reject(fromServiceError(err));
        else if (response.receipt === undefined || response.receipt.signature === '') reject(new Error('no receipt'));
        else if (response.records.length !== PAGE_SIZE) reject(new Error(`${response.records.length} records`));
        else resolve(response);
      });
    });
}

/**
 * A closed-loop pilot that ends after `calls` completions (not after a time): it warms the
 * JIT, the connections and the stores, and its rate sizes the measurement windows even
 * when one round of `concurrency` calls takes longer than the usual warm-up.
 */
async function pilotRate(call: LoadCall, concurrency: number, calls: number): Promise<number> {
  let started = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (started < calls) {
      started++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (calls * 1000) / (performance.now() - t0);
}

const capMs = (quick: boolean) => (quick ? 1_500 : 30_000);
const clamp = (ms: number, floor: number, cap: number) => Math.round(Math.min(cap, Math.max(floor, ms)));

/**
 * Closed-loop windows for a path whose calls can take seconds each at saturation (64 in
 * flight on a busy machine): a window of only a few rounds measures the ramp-up. Every
 * measurement restarts its workers, so the first round lands in one wave: two are skipped
 * and five measured; at least the run's usual windows (the echo's), at most the cap.
 */
function throughputWindows(rate: number, concurrency: number, quick: boolean) {
  const timing = benchTiming(quick);
  const roundMs = (concurrency * 1000) / rate;
  return {
    warmupMs: clamp(2 * roundMs, timing.warmupMs, capMs(quick)),
    durationMs: clamp(5 * roundMs, timing.durationMs, capMs(quick)),
  };
}

/** An open-loop window long enough for a p99 of a few hundred samples at `rate`, within the same bounds. */
function latencyWindows(rate: number, quick: boolean) {
  const timing = benchTiming(quick);
  return { warmupMs: timing.warmupMs, durationMs: clamp((500 * 1000) / rate, timing.durationMs, capMs(quick)) };
}

function describeLatency(l: { p50: number; p90: number; p99: number; max: number; achievedRate: number }): string {
  return (
    `p50 ${l.p50.toFixed(0)} µs, p90 ${l.p90.toFixed(0)} µs, p99 ${l.p99.toFixed(0)} µs, max ${l.max.toFixed(0)} µs; ` +
    `${l.achievedRate.toFixed(0)}/s achieved`
  );
}

/**
 * Issue 4's exchange results, app → home node → peer node over the full security path
 * (mTLS on both hops, exchange grant issued and verified with its replay check, policy
 * decision, durable audit entries on both sides, the provider's signed receipt checked
 * by the home node), against the bare single-hop grpc-js mTLS echo in the same run:
 * - `exchange.cross_city.throughput`: saturation calls/s at the echo's concurrency; goal ratio ≥ 0.33.
 * - `exchange.cross_city.p99`: open-loop p99 at half of that saturation, against the echo's
 *   p99 at half of its own; goal ratio ≤ 3.
 * - `grpc.relay.throughput`: the bare two-hop grpc-js mTLS relay (bench → relay process →
 *   echo process, a page's worth of bytes, nothing but mTLS) at the same concurrency; its
 *   ratio is the most any two-hop path reaches of the echo here. No goal.
 */
export const exchangeCrossCitySuite: BenchSuite = {
  name: 'exchange.cross_city',
  async run(context: BenchContext): Promise<readonly BenchResult[]> {
    // The baseline first, before the cluster's processes exist, so they take nothing from it.
    const echo = await measureEchoBaseline(context);
    const relay = await measureRelayBaseline(context, {
      payloadBytes: PAGE_JSON_BYTES,
      concurrency: echo.concurrency,
    });
    context.progress(`grpc.relay: ${(relay.throughput / echo.throughput).toFixed(3)} of the echo`);
    context.progress('exchange: starting the anchor and two city nodes as separate processes');
    const cluster = await startExchangeCluster(context.workDir, context.progress);
    try {
      const fetch = fetchCall(cluster.app, cluster.datasetId);
      const first = await fetch();
      const bytes = first.records.reduce((n, r) => n + r.json.length, 0);
      context.progress(
        `exchange: ${HOME_CITY} app → ${HOME_CITY} node → ${PEER_CITY} node; ${PAGE_SIZE} records (${bytes} B of JSON) per call` +
          (bytes === relay.payloadBytes ? '' : ` (the relay baseline carried ${relay.payloadBytes} B)`),
      );
      let calls = 0;
      const call: LoadCall = async () => {
        await fetch();
        calls++;
      };
      // A quick run only smoke-tests this code: a few calls in flight complete within its short windows.
      const concurrency = context.quick ? Math.min(4, echo.concurrency) : echo.concurrency;
      const pilot = await pilotRate(call, concurrency, (context.quick ? 1 : 3) * concurrency);
      const windows = throughputWindows(pilot, concurrency, context.quick);
      context.progress(
        `exchange: saturation, ${concurrency} in flight (pilot ${pilot.toFixed(1)}/s; ` +
          `windows ${windows.warmupMs} + ${windows.durationMs} ms)`,
      );
      const meter = cpuMeter({ app: process.pid, ...cluster.pids });
      const before = calls;
      const throughput = await measureThroughput(call, { concurrency, ...windows });
      context.progress(`exchange: CPU ms per call at saturation: ${meter.perCall(calls - before)}`);
      if (!(throughput > 0)) throw new Error(`no call completed in the window at ${concurrency} in flight`);
      const rate = throughput / 2;
      const latencyWindow = latencyWindows(rate, context.quick);
      context.progress(
        `exchange: ${throughput.toFixed(1)} calls/s; latency at ${rate.toFixed(1)}/s for ${latencyWindow.durationMs} ms`,
      );
      const latency = await measureLatency(call, { ratePerSecond: rate, ...latencyWindow });
      context.progress(`exchange: ${describeLatency(latency)}`);
      return [
        benchResult({
          name: 'exchange.cross_city.throughput',
          value: throughput,
          unit: '1/s',
          baseline: 'grpc.echo.throughput',
          baselineValue: echo.throughput,
          goal: { on: 'ratio', op: '>=', target: 0.33 },
        }),
        benchResult({
          name: 'exchange.cross_city.p99',
          value: latency.p99,
          unit: 'us',
          baseline: 'grpc.echo.p99',
          baselineValue: echo.latency.p99,
          goal: { on: 'ratio', op: '<=', target: 3 },
        }),
        relayThroughputResult(relay, echo),
      ];
    } finally {
      await cluster.stop();
    }
  },
};
