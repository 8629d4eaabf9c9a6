import { expectThat } from '../checks.js';
import { readNodeStatus } from '../node-status.js';
import { mapPool, sleep } from '../pool.js';
import { NODE_REFRESH_INTERVAL_SECONDS, type SimulationRun } from '../run-state.js';
import { allReach } from './converge.js';
import { expectRingServed, ringFetch, versionIn } from './ring.js';

/** A key id no one uses: revoking it changes the metadata and nothing else. */
export const OFFLINE_DRILL_KEY = 'drill-offline-key';

/**
 * The anchor stops for `--anchor-down-seconds`. Meanwhile every node keeps serving peers
 * on its cached, verified metadata, and the operator changes the metadata offline (a
 * key revocation written to the anchor's store). Once the anchor is back, every node
 * must converge on that version.
 */
export async function anchorDownPhase(run: SimulationRun): Promise<void> {
  const cities = run.serving();
  const seconds = run.init.anchorDownSeconds;
  const progress = run.progress.phase('anchor-down');
  let offlineVersion = Number.POSITIVE_INFINITY;
  await run.checks.check('offline.serves-on-cached-metadata', async () => {
    await run.stopAnchor();
    const downAt = run.clock.nowMs();
    progress.note(`anchor stopped for ${seconds} s`);
    offlineVersion = versionIn(
      await run.anchorCli(['revoke', 'key', OFFLINE_DRILL_KEY, '--reason', 'drill: revoked while the anchor was down']),
    );
    // Let every node try the anchor at least once, so it serves knowing it is offline.
    await sleep(
      Math.max(0, Math.min(seconds * 1000, NODE_REFRESH_INTERVAL_SECONDS * 1000 + 500) - (run.clock.nowMs() - downAt)),
    );
    const ring = await ringFetch(run, cities);
    const statuses = await mapPool(cities, 8, (city) => readNodeStatus(run.app(city)));
    await sleep(Math.max(0, downAt + seconds * 1000 - run.clock.nowMs()));
    expectRingServed(ring);
    const budgets = statuses.flatMap((s) => (s.status === 'fulfilled' ? [s.value.offlineBudgetSeconds] : []));
    expectThat(budgets.length === cities.length, 'a node did not answer its status with the anchor down');
    expectThat(
      budgets.every((b) => b > 0),
      'a node reports no offline budget left',
    );
    const noticed = statuses.filter((s) => s.status === 'fulfilled' && !s.value.anchorReachable).length;
    return (
      `anchor down ${seconds} s: all ${cities.length} nodes kept exchanging over mTLS on cached metadata ` +
      `(each fetched from the next), at least ${Math.min(...budgets)} s of offline budget left, ` +
      `${noticed} of ${cities.length} reporting the anchor unreachable`
    );
  });
  // From the moment the restart begins: a gossiping anchor may announce its metadata
  // before it prints that it serves.
  let restartedAt = 0;
  await run.checks.check('anchor.restart', async () => {
    restartedAt = run.clock.nowMs();
    const { url, pid } = await run.startAnchor();
    return `anchor back at ${url} (process ${pid}) after ${run.clock.nowMs() - restartedAt} ms`;
  });
  await run.checks.check('anchor.converged', async () => {
    expectThat(Number.isFinite(offlineVersion), 'no metadata change was made while the anchor was down');
    const ms = await allReach(run, cities, offlineVersion, restartedAt);
    for (const m of ms) run.latency.add('anchor.converge', m);
    run.latency.span('anchor.converge', Math.max(...ms));
    return `every node holds v${offlineVersion}, the version made while the anchor was down, within ${Math.max(...ms)} ms of the restart's start`;
  });
  progress.done();
}
