import { expectThat } from '../checks.js';
import { pollIntervalMs, waitForVersion } from '../node-status.js';
import { mapPool } from '../pool.js';
import { NODE_REFRESH_INTERVAL_SECONDS, type SimulationRun } from '../run-state.js';

/** How long nodes may take to hold a version once the anchor serves it: a pull interval and then some. */
export const convergeDeadlineMs = () => NODE_REFRESH_INTERVAL_SECONDS * 1000 + 15_000;

/**
 * Waits until every node of `cities` holds metadata `version`, and gives, per city in
 * order, the ms from `since` until it did (never negative). Fails naming every node that
 * did not get there within the deadline.
 */
export async function allReach(
  run: SimulationRun,
  cities: readonly string[],
  version: number,
  since: number,
): Promise<number[]> {
  const reached = await mapPool(cities, cities.length, (city) =>
    waitForVersion(run.app(city), () => version, {
      clock: run.clock,
      deadlineMs: convergeDeadlineMs(),
      intervalMs: pollIntervalMs(cities.length),
    }),
  );
  const late = cities.filter((_, i) => reached[i]!.status === 'rejected');
  expectThat(late.length === 0, `v${version} did not reach ${late.join(', ')}`);
  return reached.map((r) => (r.status === 'fulfilled' ? Math.max(0, r.value.reachedAtMs - since) : 0));
}
