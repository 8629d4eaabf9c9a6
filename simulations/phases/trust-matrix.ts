import { TrustState } from '../../nodes/index.js';
import { expectThat } from '../checks.js';
import { mapPool } from '../pool.js';
import type { SimulationRun } from '../run-state.js';

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** One row of the matrix: whom `from` verified, and why not where it did not. */
async function verifyRow(
  run: SimulationRun,
  from: string,
  others: readonly string[],
): Promise<{ row: Record<string, boolean>; reasons: Record<string, string> }> {
  const row: Record<string, boolean> = {};
  const reasons: Record<string, string> = {};
  let state: TrustState;
  try {
    // With the city's own pinned keys: a city that cannot verify the anchor verifies no one.
    state = await TrustState.load(run.dir(from), run.clock);
    await state.refresh();
  } catch (err) {
    for (const to of others) {
      row[to] = false;
      reasons[to] = `${from} cannot verify the anchor's metadata: ${message(err)}`;
    }
    return { row, reasons };
  }
  for (const to of others) {
    try {
      await state.verifyPeerCity(to);
      row[to] = true;
    } catch (err) {
      row[to] = false;
      reasons[to] = message(err);
    }
  }
  return { row, reasons };
}

/**
 * The trust matrix: each enrolled city, with its own pinned anchor keys and cached
 * metadata, verifies every other through the anchor (subordinate statement, membership
 * in signed metadata, CA chain to the cluster root). A city that verifies no one, or
 * that no one verifies, is left out of the later phases.
 */
export async function trustMatrix(run: SimulationRun): Promise<void> {
  const cities = run.active();
  const progress = run.progress.phase('trust', cities.length, 'cities');
  const rows = await mapPool(cities, 4, async (from) => {
    const result = await verifyRow(
      run,
      from,
      cities.filter((c) => c !== from),
    );
    progress.tick();
    return result;
  });
  for (const [i, from] of cities.entries()) {
    const settled = rows[i]!;
    const { row, reasons } =
      settled.status === 'fulfilled' ? settled.value : { row: {}, reasons: { '*': message(settled.reason) } };
    run.trust[from] = row;
    if (Object.keys(reasons).length > 0) run.trustFailures[from] = reasons;
  }
  const refused: string[] = [];
  for (const city of cities) {
    const others = cities.filter((c) => c !== city);
    const verifiedNone = others.length > 0 && others.every((to) => run.trust[city]?.[to] !== true);
    const verifiedByNone = others.length > 0 && others.every((from) => run.trust[from]?.[city] !== true);
    if (verifiedNone) {
      const reason = Object.values(run.trustFailures[city] ?? {})[0] ?? 'no peer verified';
      refused.push(`${city} verified none of the ${others.length} others: ${reason}`);
      run.impaired.set(city, `trust: ${reason}`);
    } else if (verifiedByNone) {
      refused.push(`no city verified ${city}: ${run.trustFailures[others[0]!]?.[city] ?? 'unknown'}`);
      run.impaired.set(city, `trust: no city verified ${city}`);
    }
  }
  const single = Object.entries(run.trustFailures)
    .filter(([from]) => !run.impaired.has(from))
    .flatMap(([from, r]) =>
      Object.entries(r)
        .filter(([to]) => !run.impaired.has(to))
        .map(([to, why]) => `${from}→${to}: ${why}`),
    );
  progress.done();
  await run.checks.check('trust.matrix', () => {
    expectThat(refused.length + single.length === 0, [...refused, ...single].slice(0, 5).join('; '));
    return `${cities.length * (cities.length - 1)} ordered pairs verified each other's statement, CA and membership`;
  });
}
