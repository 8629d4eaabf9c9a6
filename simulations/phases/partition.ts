import { isMeshError } from '../../common/errors/index.js';
import { anchorChange } from '../anchor-watch.js';
import { expectThat } from '../checks.js';
import { type CallOutcome, fetchOnce } from '../exchange-phase.js';
import { pollIntervalMs, readNodeStatus, waitForVersion } from '../node-status.js';
import type { SimulationRun } from '../run-state.js';
import { allReach, convergeDeadlineMs } from './converge.js';
import { PURPOSE } from './exchange.js';
import { expectRingServed, fetchUntilServed, openDataset, ringFetch } from './ring.js';

/** A home node gives up on a silent peer after its forward deadline (10 s); then a little slack. */
const FAIL_FAST_MS = 13_000;
/** Deadline of the frozen node's own app calling it directly. */
const DIRECT_DEADLINE_MS = 3_000;
export const PARTITION_DRILL_KEY = 'drill-partition-key';

/** A direct status call to a node, as an outcome: `answered` or the error's code. */
async function statusOutcome(run: SimulationRun, city: string): Promise<CallOutcome> {
  const t0 = run.clock.nowMs();
  try {
    await readNodeStatus(run.app(city), DIRECT_DEADLINE_MS);
    return { outcome: 'answered', ms: run.clock.nowMs() - t0 };
  } catch (err) {
    return { outcome: isMeshError(err) ? err.code : String(err), ms: run.clock.nowMs() - t0 };
  }
}

/**
 * One node is frozen (SIGSTOP): cut off from every peer and the anchor, its sockets open
 * but silent, the nastiest kind of partition. Calls to it must fail within a deadline,
 * the rest of the cluster carries on and takes a metadata change made meanwhile, and
 * after SIGCONT the node catches up on that change and serves again.
 */
export async function partitionPhase(run: SimulationRun): Promise<void> {
  const cities = run.serving();
  const victim = cities.at(-1)!;
  const others = cities.filter((c) => c !== victim);
  const progress = run.progress.phase('partition');
  let frozenAt = 0;
  let changeVersion = Number.POSITIVE_INFINITY;
  try {
    run.signalNode(victim, 'SIGSTOP');
    frozenAt = run.clock.nowMs();
    progress.note(`${victim} frozen with SIGSTOP`);
    await run.checks.check('partition.calls-fail-fast', async () => {
      const dataset = openDataset(run, victim);
      const [direct, ...peers] = await Promise.all([
        statusOutcome(run, victim),
        ...others.map((city) => fetchOnce(run.app(city), run.clock, dataset, PURPOSE, FAIL_FAST_MS + 10_000)),
      ]);
      for (const call of [direct!, ...peers]) run.latency.add('partition.fail', call.ms);
      const wrong = [direct!, ...peers]
        .map((call, i) => ({ call, who: i === 0 ? `${victim}'s own app` : others[i - 1]! }))
        .filter(({ call }) => call.outcome !== 'PEER_UNAVAILABLE' || call.ms > FAIL_FAST_MS);
      expectThat(
        wrong.length === 0,
        `calls to the frozen ${victim} did not fail fast: ${wrong.map((w) => `${w.who} ${w.call.outcome} after ${w.call.ms} ms`).join('; ')}`,
      );
      const slowest = Math.max(...peers.map((p) => p.ms), 0);
      return `${victim} frozen: ${peers.length} calls through peer nodes ended with PEER_UNAVAILABLE within ${slowest} ms, its own app's direct call after ${direct!.ms} ms (deadline ${DIRECT_DEADLINE_MS} ms)`;
    });
    await run.checks.check('partition.others-unaffected', async () => {
      const change = await anchorChange(run.work, run.clock, () =>
        run.anchorCli(['revoke', 'key', PARTITION_DRILL_KEY, '--reason', 'drill: changed during a partition']),
      );
      changeVersion = change.version;
      const t0 = change.committedAtMs;
      const slowest = Math.max(...(await allReach(run, others, changeVersion, t0)));
      if (others.length >= 2) expectRingServed(await ringFetch(run, others));
      return `while ${victim} was cut off, v${changeVersion} reached the other ${others.length} nodes within ${Math.max(0, slowest)} ms and they kept exchanging`;
    });
  } finally {
    run.signalNode(victim, 'SIGCONT');
  }
  const healedAt = run.clock.nowMs();
  await run.checks.check('partition.heals', async () => {
    expectThat(Number.isFinite(changeVersion), 'no metadata change was made during the partition');
    const reached = await waitForVersion(run.app(victim), () => changeVersion, {
      clock: run.clock,
      deadlineMs: convergeDeadlineMs(),
      intervalMs: pollIntervalMs(1),
    });
    const caughtUp = Math.max(0, reached.reachedAtMs - healedAt);
    run.latency.add('partition.heal', caughtUp);
    const again = await fetchUntilServed(run, run.app(others[0]!), openDataset(run, victim));
    expectThat(again === 'allowed', `${others[0]} still cannot fetch from ${victim}: ${again}`);
    const frozenS = ((healedAt - frozenAt) / 1000).toFixed(1);
    return `after SIGCONT (frozen ${frozenS} s) ${victim} caught up to v${changeVersion} in ${caughtUp} ms${reached.source ? ` (by ${reached.source})` : ''} and serves ${others[0]} again`;
  });
  progress.done();
}
