import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Clock } from '../common/clock.js';
import { getCity } from '../common/ids/index.js';
import { type AppClients, connectApp } from '../nodes/index.js';
import { type CheckRecorder, expectThat } from './checks.js';
import {
  type CallOutcome,
  expectedOutcome,
  fetchOnce,
  invokeOnce,
  type PlannedEntry,
  searchCluster,
  streamAll,
} from './exchange-phase.js';
import { runCli, startCli, stopProcess } from './processes.js';
import type { SimulationReport } from './report.js';
import { summarizeLatencies } from './report.js';
import { writeSampleCatalog } from './samples/index.js';

const PURPOSE = 'cross-city-planning';

/** The running city nodes of a simulation and the app the simulation calls through in each. */
export interface CityNodes {
  readonly nodes: Map<string, ChildProcess>;
  readonly apps: Map<string, AppClients>;
  stopAll(): Promise<void>;
}

/** Publishes each city's sample catalog, registers its app and starts its node as a process. */
export async function startCityNodes(
  checks: CheckRecorder,
  work: string,
  cluster: string,
  cities: readonly string[],
): Promise<CityNodes> {
  const nodes = new Map<string, ChildProcess>();
  const apps = new Map<string, AppClients>();
  const stopAll = async () => {
    for (const app of apps.values()) app.close();
    apps.clear();
    for (const child of nodes.values()) await stopProcess(child);
    nodes.clear();
  };
  for (const city of cities) {
    await checks.check(`publish.${city}`, async () => {
      const files = writeSampleCatalog(join(work, 'samples', city), cluster, city);
      await runCli(['catalog', 'publish', files.manifest, '--dir', city], work);
      for (const item of files.imports) {
        await runCli(['datasets', 'import', item.datasetId, item.file, '--dir', city, '--id-field', 'id'], work);
      }
      await runCli(
        [
          'apps',
          'add',
          '--dir',
          city,
          '--id',
          'sim-app',
          '--org',
          'city-data-office',
          '--industry',
          'transport',
          '--region',
          getCity(city).region,
          '--out',
          join('apps', city),
        ],
        work,
      );
      return `${files.imports.length} datasets with records and 2 capabilities published; app sim-app registered`;
    });
  }
  await checks.check('nodes.serving', async () => {
    for (const city of cities) {
      const serving = await startCli(
        ['node', 'serve', '--dir', city, '--refresh-interval', '1'],
        work,
        /serving at (\S+)/,
      );
      nodes.set(city, serving.child);
      apps.set(city, connectApp(join(work, 'apps', city)));
    }
    return `${cities.length} nodes serving mTLS gRPC, each a separate process (${[...nodes.values()].map((c) => c.pid).join(', ')})`;
  });
  return { nodes, apps, stopAll };
}

/** Every ordered pair of cities fetches, streams and invokes, and meets the denials policy sets. */
export async function runExchangeMatrix(
  checks: CheckRecorder,
  running: CityNodes,
  cities: readonly string[],
  clock: Clock,
  report: { interop: SimulationReport['interop']; metrics: Record<string, unknown> },
): Promise<void> {
  let catalog = new Map<string, PlannedEntry[]>();
  await checks.check('catalog.search.cluster-wide', async () => {
    const result = await searchCluster(running.apps.get(cities[0]!)!);
    catalog = result.byCity;
    expectThat(
      cities.every((c) => result.answered.includes(c) && (catalog.get(c)?.length ?? 0) > 0),
      `answered: ${result.answered.join(', ')}`,
    );
    const total = [...catalog.values()].reduce((n, e) => n + e.length, 0);
    return `one search from ${cities[0]} covered ${result.answered.length} cities, ${total} entries`;
  });
  const samples: Record<'fetch' | 'stream' | 'invoke', number[]> = { fetch: [], stream: [], invoke: [] };
  const wrong: string[] = [];
  const started = clock.nowMs();
  for (const from of cities) {
    report.interop[from] = {};
    const app = running.apps.get(from)!;
    for (const to of cities) {
      if (to === from) continue;
      const cell = { allowed: 0, denied: 0 };
      const entries = catalog.get(to) ?? [];
      const record = (what: string, expected: string, got: CallOutcome, kind?: keyof typeof samples) => {
        if (got.outcome !== expected) {
          wrong.push(`${from}→${to} ${what}: expected ${expected}, got ${got.outcome}`);
          return;
        }
        if (expected === 'allowed') cell.allowed++;
        else cell.denied++;
        if (kind && expected === 'allowed') samples[kind].push(got.ms);
      };
      for (const entry of entries.filter((e) => e.kind === 'dataset')) {
        const expected = expectedOutcome(entry);
        record(`fetch ${entry.id}`, expected, await fetchOnce(app, clock, entry.id, PURPOSE), 'fetch');
        if (expected === 'allowed') {
          record(`stream ${entry.id}`, expected, await streamAll(app, clock, entry.id, PURPOSE), 'stream');
        }
      }
      for (const entry of entries.filter((e) => e.kind === 'capability')) {
        const input = entry.id.endsWith('region-lookup') ? { regionCode: getCity(to).region } : {};
        record(
          `invoke ${entry.id}`,
          expectedOutcome(entry),
          await invokeOnce(app, clock, entry.id, input, PURPOSE),
          'invoke',
        );
      }
      report.interop[from]![to] = cell;
    }
  }
  const elapsed = clock.nowMs() - started;
  for (const [kind, list] of Object.entries(samples))
    report.metrics[`exchange.${kind}`] = summarizeLatencies(list, elapsed);
  await checks.check('exchange.every-pair', () => {
    expectThat(wrong.length === 0, wrong.slice(0, 5).join('; '));
    const cells = Object.values(report.interop).flatMap((row) => Object.values(row));
    const allowed = cells.reduce((n, c) => n + c.allowed, 0);
    const denied = cells.reduce((n, c) => n + c.denied, 0);
    return `${cells.length} ordered pairs: ${allowed} fetch/stream/invoke calls served with verified receipts, ${denied} refused as policy says`;
  });
}

/** Revokes a city and measures, per other node, when its calls are refused there. */
export async function measureRevocationReach(
  running: CityNodes,
  cities: readonly string[],
  revoked: string,
  clock: Clock,
  revoke: () => Promise<void>,
  datasetOf: (city: string) => string,
): Promise<{ reachMs: Record<string, number>; detail: string }> {
  const app = running.apps.get(revoked)!;
  const t0 = clock.nowMs();
  await revoke();
  const reachMs: Record<string, number> = {};
  const pending = new Set(cities.filter((c) => c !== revoked));
  const deadline = t0 + 15_000;
  while (pending.size > 0 && clock.nowMs() < deadline) {
    for (const city of [...pending]) {
      const got = await fetchOnce(app, clock, datasetOf(city), PURPOSE);
      if (got.outcome === 'CITY_REVOKED') {
        reachMs[city] = clock.nowMs() - t0;
        pending.delete(city);
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 50));
  }
  expectThat(pending.size === 0, `still served ${revoked} after 15 s: ${[...pending].join(', ')}`);
  const worst = Math.max(...Object.values(reachMs));
  return { reachMs, detail: `every node refused ${revoked} (CITY_REVOKED) within ${worst} ms of the revocation` };
}
