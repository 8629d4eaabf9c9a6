import { anchorChange } from '../anchor-watch.js';
import { expectThat } from '../checks.js';
import { fetchOnce } from '../exchange-phase.js';
import { pollIntervalMs, readNodeStatus, waitForVersion } from '../node-status.js';
import { mapPool } from '../pool.js';
import type { SimulationRun } from '../run-state.js';
import { convergeDeadlineMs } from './converge.js';
import { PURPOSE } from './exchange.js';
import { openDataset } from './ring.js';

/** Room for the `anchor revoke` process itself, on top of the nodes' own convergence. */
const REVOKE_COMMAND_MS = 30_000;

/**
 * Revokes the last serving city and measures, node by node, how long after the revoking
 * version was committed that node held it: each node's status is polled concurrently
 * (its own acceptance time is used when it reports one). Then a real call confirms each
 * node refuses the revoked city (`CITY_REVOKED`).
 */
export async function revokePhase(run: SimulationRun): Promise<void> {
  const cities = run.serving();
  const revoked = cities.at(-1)!;
  const others = cities.filter((c) => c !== revoked);
  run.revoked = revoked;
  const progress = run.progress.phase('revoke', others.length, 'nodes refusing');
  await run.checks.check('revocation.refused-everywhere', async () => {
    const before = await mapPool(cities, 8, (city) => readNodeStatus(run.app(city)));
    let target = 1 + Math.max(...before.map((s) => (s.status === 'fulfilled' ? s.value.metadataVersion : 0)));
    // Polling starts before the revocation: a node may hold it within milliseconds.
    const reaching = mapPool(others, others.length, async (city) => {
      const reached = await waitForVersion(run.app(city), () => target, {
        clock: run.clock,
        deadlineMs: REVOKE_COMMAND_MS + convergeDeadlineMs(),
        intervalMs: pollIntervalMs(others.length),
      });
      progress.tick();
      return reached;
    });
    const change = await anchorChange(run.work, run.clock, () =>
      run.anchorCli(['revoke', 'city', revoked, '--reason', 'simulated compromise']),
    );
    target = change.version;
    const committedAt = change.committedAtMs;
    const reached = await reaching;
    const late = others.filter((_, i) => reached[i]!.status === 'rejected');
    expectThat(late.length === 0, `v${target} revoking ${revoked} did not reach ${late.join(', ')}`);
    const sources = new Map<string, number>();
    for (const [i, city] of others.entries()) {
      const r = reached[i]!;
      if (r.status !== 'fulfilled') continue;
      const ms = Math.max(0, r.value.reachedAtMs - committedAt);
      run.revocationReach[city] = ms;
      run.latency.add('revocation.reach', ms);
      const source = r.value.source ?? 'unreported';
      sources.set(source, (sources.get(source) ?? 0) + 1);
    }
    const reach = Object.values(run.revocationReach);
    run.latency.span('revocation.reach', Math.max(...reach));
    // The revoked city's app calls each node through its home node: the provider must refuse.
    const confirmed = await mapPool(others, 4, (city) =>
      fetchOnce(run.app(revoked), run.clock, openDataset(run, city), PURPOSE),
    );
    const served = others.filter((_, i) => {
      const c = confirmed[i]!;
      return c.status !== 'fulfilled' || c.value.outcome !== 'CITY_REVOKED';
    });
    // And each node, asked by its own app for the revoked city's data, must not get it.
    const outbound = await mapPool(others, 4, (city) =>
      fetchOnce(run.app(city), run.clock, openDataset(run, revoked), PURPOSE),
    );
    const stillCalled = others.filter((_, i) => {
      const c = outbound[i]!;
      return c.status === 'fulfilled' && c.value.outcome === 'allowed';
    });
    const outcomes = new Map<string, number>();
    for (const o of outbound) {
      const key = o.status === 'fulfilled' ? o.value.outcome : 'error';
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    run.impaired.set(revoked, 'revoked');
    expectThat(served.length === 0, `still not refusing ${revoked} with CITY_REVOKED: ${served.join(', ')}`);
    expectThat(stillCalled.length === 0, `still served data by ${revoked}: ${stillCalled.join(', ')}`);
    const how = [...sources].map(([s, n]) => `${n} by ${s}`).join(', ');
    const out = [...outcomes].map(([o, n]) => `${n} ${o}`).join(', ');
    return `every node held v${target} revoking ${revoked} within ${Math.max(...reach)} ms of its commit (${how}), refuses ${revoked}'s calls with CITY_REVOKED and no longer gets its data (${out})`;
  });
  progress.done();
}
