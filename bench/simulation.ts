import { createServer } from 'node:net';
import { join } from 'node:path';
import { systemClock } from '../common/clock.js';
import { type OperationMetrics, planSimulation, rssMb, runSimulation } from '../simulations/index.js';
import { gossipDeliveryBaseline } from './gossip-baseline.js';
import { echoClient, makeEchoCerts, startEchoServer } from './grpc-echo/index.js';
import { type BenchContext, type BenchResult, type BenchSuite, benchResult } from './result.js';

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** Where Linux starts handing out source ports for outgoing connections (`ip_local_port_range`). */
const EPHEMERAL_PORTS_FROM = 32_768;

/**
 * A base port whose whole city layout (`base + 10(i+1)` and the two after, anchor at base
 * and base + 2) is free now, below the ephemeral range: a port free when checked there can
 * be taken a minute later as the source port of one of the cluster's own connections (a
 * 27-city run lost a node to EADDRINUSE that way).
 */
async function freeBasePort(cities: number): Promise<number> {
  const span = 10 * (cities + 1) + 3;
  const slots = Math.floor((EPHEMERAL_PORTS_FROM - 20_000 - span) / 300);
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + 300 * Math.floor(Math.random() * slots);
    const ports = [base, base + 2, ...Array.from({ length: cities }, (_, i) => base + 10 * (i + 1))].flatMap((p) =>
      p === base || p === base + 2 ? [p] : [p, p + 1, p + 2],
    );
    if ((await Promise.all(ports.map(canBind))).every(Boolean)) return base;
  }
  throw new Error('no free port range for the simulation');
}

/** The memory of a bare Node process that loads grpc-js and has served an mTLS echo: what any node starts from. */
async function bareGrpcProcessRss(): Promise<number> {
  const certs = await makeEchoCerts();
  const server = await startEchoServer(certs);
  const client = echoClient(server.address, certs);
  try {
    for (let i = 0; i < 200; i++) await client.call(Buffer.alloc(32, i));
    const mb = rssMb(server.pid);
    if (mb === undefined) throw new Error('cannot read the echo server memory (no /proc?)');
    return mb;
  } finally {
    client.close();
    await server.stop();
  }
}

/**
 * Issue 8's simulation results, from one run of the Yangtze River Delta cluster (all 27
 * cities; 6 with `--quick`), default scenarios, every party a separate process:
 * - `simulation.node.rss` (MB): the largest resident memory of any node process, after
 *   the exchange matrix or at the end; against a bare grpc-js process serving an mTLS
 *   echo. Goal: ≤ 150 MB per node.
 * - `simulation.wall` (s): the whole run; against the same run's enrolment and start-up
 *   (enrol + publish: every process up, catalogs in), so the ratio says what the
 *   scenarios cost on top of standing the cluster up.
 * - `revocation.reach.p99` (ms): from the revoking version's commit to each node holding
 *   it; against bare gossipsub publish → deliver among as many in-process peers (the
 *   transport's floor: no validation, no process boundaries, no disk). Pull alone is not
 *   a useful baseline: it is bounded by each node's 30 s timer, not by the path.
 */
export const simulationSuite: BenchSuite = {
  name: 'simulation',
  async run(context: BenchContext): Promise<readonly BenchResult[]> {
    const cities = context.quick ? 6 : 27;
    // Baselines first, before the cluster's processes exist, so they take nothing from them.
    const bareRss = await bareGrpcProcessRss();
    context.progress(`simulation: bare grpc-js mTLS echo process ${bareRss} MB`);
    const gossip = await gossipDeliveryBaseline(cities, context.quick ? 10 : 30);
    context.progress(`simulation: bare gossipsub among ${cities} peers: p99 ${gossip.p99Ms.toFixed(1)} ms`);
    const plan = planSimulation({ cluster: 'yrd', cities: String(cities) });
    const basePort = await freeBasePort(cities);
    context.progress(`simulation: ${cities} cities of yrd from port ${basePort}: ${plan.scenarios.join(', ')}`);
    const report = await runSimulation({
      ...plan,
      basePort,
      workDir: join(context.workDir, 'simulation'),
      clock: systemClock,
      onProgress: (line) => context.progress(`simulation: ${line.trimEnd()}`),
    });
    const failed = report.checks.filter((c) => !c.passed);
    for (const c of failed) context.progress(`simulation: FAILED ${c.name}: ${c.detail}`);
    // The p99 of 26 nodes is the slowest one: name the tail so a bad figure can be traced.
    const slowest = Object.entries(report.revocationReach)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([city, ms]) => `${city} ${ms} ms`);
    const revocation = report.checks.find((c) => c.name === 'revocation.refused-everywhere');
    if (revocation) context.progress(`simulation: revocation slowest ${slowest.join(', ')}; ${revocation.detail}`);
    const rss = report.metrics['node.rss.max.mb'];
    const reach = report.metrics['revocation.reach'] as OperationMetrics | undefined;
    if (typeof rss !== 'number' || reach === undefined || reach.count === 0) {
      throw new Error(`the simulation measured no node memory or revocation (${failed.length} checks failed)`);
    }
    const setupMs = report.phases
      .filter((p) => p.name === 'enrol' || p.name === 'publish')
      .reduce((n, p) => n + p.ms, 0);
    return [
      benchResult({
        name: 'simulation.node.rss',
        value: rss,
        unit: 'MB',
        baseline: 'grpc.echo.process.rss',
        baselineValue: bareRss,
        goal: { on: 'value', op: '<=', target: 150 },
      }),
      benchResult({
        name: 'simulation.wall',
        value: report.durationMs / 1000,
        unit: 's',
        baseline: 'simulation.setup',
        baselineValue: setupMs / 1000,
      }),
      benchResult({
        name: 'revocation.reach.p99',
        value: reach.p99Ms,
        unit: 'ms',
        baseline: 'gossipsub.deliver.p99',
        baselineValue: gossip.p99Ms,
        goal: { on: 'value', op: '<=', target: 2000 },
      }),
    ];
  },
};
