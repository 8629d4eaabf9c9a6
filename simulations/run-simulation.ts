import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { anchorDownPhase } from './phases/anchor-down.js';
import { auditPhase, summarizeNodes } from './phases/audit.js';
import { enrolPhase } from './phases/enrol.js';
import { exchangePhase } from './phases/exchange.js';
import { killNodePhase } from './phases/kill-node.js';
import { partitionPhase } from './phases/partition.js';
import { publishPhase } from './phases/publish.js';
import { revokePhase } from './phases/revoke.js';
import { rolloverPhase } from './phases/rollover.js';
import type { PhaseTiming, SimulationReport } from './report.js';
import { type SimulationInit, SimulationRun } from './run-state.js';
import type { ScenarioName } from './scenarios.js';

const MARKER = '.citymesh-simulation';

const PHASES: Record<ScenarioName, (run: SimulationRun) => Promise<void>> = {
  enrol: enrolPhase,
  publish: publishPhase,
  exchange: exchangePhase,
  'anchor-down': anchorDownPhase,
  'kill-node': killNodePhase,
  partition: partitionPhase,
  rollover: rolloverPhase,
  revoke: revokePhase,
  audit: auditPhase,
};

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

/** Why a phase cannot run with what earlier phases left, or nothing when it can. */
function cannotRun(run: SimulationRun, name: ScenarioName): string | undefined {
  const left = [...run.impaired].map(([city, why]) => `${city} (${why})`).join(', ');
  const without = left === '' ? '' : `; left out: ${left}`;
  if (name === 'enrol') return undefined;
  if (name === 'publish') return run.active().length === 0 ? `no city took part${without}` : undefined;
  const serving = run.serving();
  return serving.length < 2 ? `needs two serving cities, has ${serving.length}${without}` : undefined;
}

/**
 * The city-cluster simulation: an anchor and every city as separate processes on
 * loopback, each city with its own embedded store, put through the selected scenarios
 * in order. A failed check never stops the run: later phases go on with the cities
 * still able to take part, so one report shows every failure.
 */
export async function runSimulation(init: SimulationInit): Promise<SimulationReport> {
  const started = init.clock.nowMs();
  prepareWorkDir(init.workDir);
  const run = new SimulationRun(init);
  const phases: PhaseTiming[] = [];
  try {
    for (const name of init.scenarios) {
      const before = run.checks.results.length;
      const t0 = init.clock.nowMs();
      const blocked = cannotRun(run, name);
      if (blocked !== undefined) {
        await run.checks.check(`${name}.skipped`, () => {
          throw new Error(blocked);
        });
      } else {
        try {
          await PHASES[name](run);
        } catch (err) {
          await run.checks.check(`${name}.completed`, () => {
            throw err;
          });
        }
      }
      const own = run.checks.results.slice(before);
      phases.push({
        name,
        ms: init.clock.nowMs() - t0,
        checks: own.length,
        failed: own.filter((c) => !c.passed).length,
      });
    }
    await summarizeNodes(run);
  } finally {
    await run.close();
  }
  return buildReport(run, phases, started);
}

function buildReport(run: SimulationRun, phases: PhaseTiming[], started: number): SimulationReport {
  const rss = [...Object.values(run.rss.afterExchange), ...Object.values(run.rss.end)];
  const durationMs = run.clock.nowMs() - started;
  return {
    cluster: run.init.cluster,
    cities: run.cities,
    trust: run.trust,
    interop: run.interop,
    checks: run.checks.results,
    metrics: {
      ...run.latency.metrics(),
      ...run.metrics,
      ...(rss.length > 0 ? { 'node.rss.max.mb': Math.max(...rss) } : {}),
      'wall.s': Math.round(durationMs / 100) / 10,
    },
    startedAt: new Date(started).toISOString(),
    durationMs,
    passed: run.checks.passed,
    clusterName: run.init.clusterName,
    cityInfo: run.init.cities.map((c) => ({ id: c.id, name: c.name, region: c.region })),
    scenarios: run.init.scenarios,
    faults: run.init.faults.map((f) => `${f.kind}=${f.city}`),
    trustFailures: run.trustFailures,
    interopWrong: run.interopWrong,
    ...(run.exchangeMode ? { exchangeMode: run.exchangeMode } : {}),
    latency: run.latency.histograms(),
    ...(run.revoked ? { revoked: run.revoked } : {}),
    revocationReach: run.revocationReach,
    rss: run.rss,
    phases,
    nodes: run.nodeSummaries,
  };
}
