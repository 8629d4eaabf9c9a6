import { benchTiming, measureLatency, measureThroughput } from '../load.js';
import { type BenchResult, type BenchSuite, benchResult } from '../result.js';
import { measureEchoBaseline } from './baseline.js';

const noop = async (): Promise<void> => {};

/**
 * The harness's self-check against the bare grpc-js echo. The echo figures themselves
 * are baselines, not results (a result compared with itself says nothing); what can be
 * compared is the load generator alone, driving a no-op the same way it drives the echo:
 * - `bench.harness.throughput`: no-op calls/s vs echo calls/s at the same concurrency.
 *   A ratio of 10 or more means the generator is not what limits a throughput result.
 * - `bench.harness.p99`: no-op p99 vs echo p99 at the same open-loop rate; it is the
 *   scheduling lag every latency result carries. At most a quarter of the echo p99 keeps
 *   latency ratios meaningful.
 */
export const grpcEchoSuite: BenchSuite = {
  name: 'bench.harness',
  async run(context): Promise<readonly BenchResult[]> {
    const echo = await measureEchoBaseline(context);
    const timing = benchTiming(context.quick);
    context.progress('bench.harness: no-op saturation');
    const noopThroughput = await measureThroughput(noop, { concurrency: echo.concurrency, ...timing });
    context.progress(`bench.harness: no-op latency at ${echo.latency.ratePerSecond.toFixed(0)}/s`);
    const noopLatency = await measureLatency(noop, { ratePerSecond: echo.latency.ratePerSecond, ...timing });
    return [
      benchResult({
        name: 'bench.harness.throughput',
        value: noopThroughput,
        unit: '1/s',
        baseline: 'grpc.echo.throughput',
        baselineValue: echo.throughput,
        goal: { on: 'ratio', op: '>=', target: 10 },
      }),
      benchResult({
        name: 'bench.harness.p99',
        value: noopLatency.p99,
        unit: 'us',
        baseline: 'grpc.echo.p99',
        baselineValue: echo.latency.p99,
        goal: { on: 'ratio', op: '<=', target: 0.25 },
      }),
    ];
  },
};
