import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../common/clock.js';
import { getCluster } from '../common/ids/index.js';
import { TrustState } from '../nodes/index.js';
import { checkAudit } from './audit-phase.js';
import { CheckRecorder, expectThat } from './checks.js';
import { fetchOnce } from './exchange-phase.js';
import { measureRevocationReach, runExchangeMatrix, startCityNodes } from './exchange-scenarios.js';
import { runCli, startCli, stopProcess } from './processes.js';
import type { CheckResult, SimulationReport } from './report.js';
import { summarizeLatencies } from './report.js';
import { SAMPLE_DATASETS } from './samples/index.js';

const MARKER = '.citymesh-simulation';

/** Empties the work dir, but only one this job created: never a folder of the user's. */
function prepareWorkDir(work: string): void {
  if (existsSync(work) && readdirSync(work).length > 0) {
    if (!existsSync(join(work, MARKER))) {
      throw new Error(`${work} is not empty and was not made by citymesh simulate; choose another --work-dir`);
    }
    rmSync(work, { recursive: true, force: true });
  }
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, MARKER), 'created by citymesh simulate; emptied on the next run\n');
}

/** Options of {@link runLocalCluster}. */
export interface LocalClusterInit {
  /** Bundled cluster: `jjj`, `prd` or `yrd`. */
  cluster: string;
  /** How many of its cities, in the cluster's order. */
  cities: number;
  /** Working directory; emptied, then holds the anchor and one folder per city. */
  workDir: string;
  /** Port of the anchor; each city i gets `basePort + 10 (i + 1)` and the next. */
  basePort?: number;
  clock: Clock;
  /** Called as each check finishes: progress for the person watching. */
  onCheck?: (result: CheckResult) => void;
}

/**
 * The local cluster job: an anchor and every city as separate processes on loopback,
 * each city with its own embedded store. Cities enrol with one-time tokens, verify each
 * other through the anchor (the trust matrix), publish sample catalogs, exchange data
 * between every ordered pair through their home nodes (and meet the denials policy
 * sets), see a revocation reach every node, keep serving on cached metadata while the
 * anchor is down, and leave audit logs that verify and cross-check.
 */
export async function runLocalCluster(init: LocalClusterInit): Promise<SimulationReport> {
  const started = init.clock.nowMs();
  const cluster = getCluster(init.cluster);
  if (!Number.isInteger(init.cities) || init.cities < 2 || init.cities > cluster.cities.length) {
    throw new RangeError(`--cities must be between 2 and ${cluster.cities.length} for cluster ${cluster.id}`);
  }
  const cities = cluster.cities.slice(0, init.cities).map((c) => c.id);
  const checks = new CheckRecorder(init.onCheck);
  const basePort = init.basePort ?? 7100;
  const work = init.workDir;
  prepareWorkDir(work);

  const trust: Record<string, Record<string, boolean>> = {};
  const metrics: SimulationReport['metrics'] = {};
  let anchor: ChildProcess | undefined;
  let anchorUrl = '';
  let stopNodes: (() => Promise<void>) | undefined;
  const interopOut: SimulationReport['interop'] = {};
  try {
    await checks.check('anchor.start', async () => {
      await runCli(['anchor', 'init', '--cluster', cluster.id, '--dir', 'anchor', '--port', String(basePort)], work);
      const serving = await startCli(['anchor', 'serve', '--dir', 'anchor'], work, /serving at (https:\/\/\S+)/);
      anchor = serving.child;
      anchorUrl = serving.match[1]!;
      return `anchor of ${cluster.id} serving at ${anchorUrl} (separate process ${serving.child.pid})`;
    });
    const joinMs: number[] = [];
    const joinStart = init.clock.nowMs();
    for (const [i, city] of cities.entries()) {
      const port = basePort + 10 * (i + 1);
      await checks.check(`enrol.${city}`, async () => {
        const token = (await runCli(['anchor', 'invite', '--dir', 'anchor', '--city', city], work))
          .trim()
          .split('\n')
          .at(-1)!;
        const t0 = init.clock.nowMs();
        const out = await runCli(
          [
            'node',
            'join',
            '--dir',
            city,
            '--anchor',
            anchorUrl,
            '--token',
            token,
            '--endpoint',
            `localhost:${port}`,
            '--entity-id',
            `https://localhost:${port + 1}`,
          ],
          work,
        );
        joinMs.push(init.clock.nowMs() - t0);
        return out.trim();
      });
    }
    metrics['enrol'] = summarizeLatencies(joinMs, init.clock.nowMs() - joinStart);

    const states = new Map<string, TrustState>();
    for (const city of cities) {
      const state = await TrustState.load(join(work, city), init.clock);
      await state.refresh();
      states.set(city, state);
    }
    const refusals: string[] = [];
    for (const from of cities) {
      trust[from] = {};
      for (const to of cities) {
        if (to === from) continue;
        try {
          await states.get(from)!.verifyPeerCity(to);
          trust[from]![to] = true;
        } catch (err) {
          trust[from]![to] = false;
          refusals.push(`${from}→${to}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
    await checks.check('trust.matrix', () => {
      expectThat(refusals.length === 0, `not verified: ${refusals.join('; ')}`);
      return `${cities.length * (cities.length - 1)} ordered pairs verified each other's statement, CA and membership`;
    });

    const running = await startCityNodes(checks, work, cluster.id, cities);
    stopNodes = running.stopAll;
    const interop: SimulationReport['interop'] = {};
    await runExchangeMatrix(checks, running, cities, init.clock, { interop, metrics });
    Object.assign(interopOut, interop);

    const revoked = cities.at(-1)!;
    const open = SAMPLE_DATASETS.find((d) => d.classification === 'public' && !d.requiresAgreement)!;
    const publicDataset = (city: string) => `${cluster.id}/${city}/${open.ownerOrg}/${open.name}`;
    await checks.check('offline.serves-on-cached-metadata', async () => {
      if (anchor) await stopProcess(anchor);
      anchor = undefined;
      const [a, b] = cities;
      // Pull once more (in vain) so the node has surely tried the anchor and failed.
      await new Promise((r) => setTimeout(r, 1500));
      const got = await fetchOnce(running.apps.get(a!)!, init.clock, publicDataset(b!), 'offline-check');
      expectThat(got.outcome === 'allowed', `${a} could not fetch from ${b} with the anchor down: ${got.outcome}`);
      const state = await TrustState.load(join(work, a!), init.clock);
      const budget = state.offlineBudgetSeconds();
      expectThat(budget > 0, 'cached metadata not usable');
      return `anchor down: ${a} still fetches from ${b} over mTLS on metadata v${state.status().metadataVersion}, ${budget} s of offline budget left`;
    });
    await checks.check('anchor.restart', async () => {
      const serving = await startCli(['anchor', 'serve', '--dir', 'anchor'], work, /serving at (https:\/\/\S+)/);
      anchor = serving.child;
      return `anchor back at ${serving.match[1]} (process ${serving.child.pid})`;
    });
    await checks.check('revocation.refused-everywhere', async () => {
      const { reachMs, detail } = await measureRevocationReach(
        running,
        cities,
        revoked,
        init.clock,
        async () => {
          await runCli(
            ['anchor', 'revoke', 'city', revoked, '--dir', 'anchor', '--reason', 'simulated compromise'],
            work,
          );
        },
        publicDataset,
      );
      metrics['revocation.reach'] = summarizeLatencies(Object.values(reachMs), Math.max(...Object.values(reachMs)));
      return detail;
    });

    await running.stopAll();
    stopNodes = undefined;
    await checkAudit(checks, work, cities);
  } finally {
    if (stopNodes) await stopNodes();
    if (anchor) await stopProcess(anchor);
  }

  return {
    cluster: cluster.id,
    cities,
    trust,
    interop: interopOut,
    checks: checks.results,
    metrics,
    startedAt: new Date(started).toISOString(),
    durationMs: init.clock.nowMs() - started,
    passed: checks.passed,
  };
}
