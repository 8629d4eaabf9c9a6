import { pinWrongAnchorKey } from '../faults.js';
import { mapPool, unwrap } from '../pool.js';
import { runCli, runCliSession } from '../processes.js';
import type { SimulationRun } from '../run-state.js';
import { trustMatrix } from './trust-matrix.js';

/** Joins at once: each is a CLI process generating keys and talking to the anchor; two keep two cores busy. */
const JOIN_CONCURRENCY = 2;

/**
 * The anchor starts as its own process; its operator issues one join token per city
 * (one session at the command line), and each city joins with `node join` in its own
 * process: keys generated locally, the anchor pinned by the root fingerprint inside the
 * token. Drills then break what they break, and the trust matrix shows what holds.
 */
export async function enrolPhase(run: SimulationRun): Promise<void> {
  const { cluster, basePort } = run.init;
  const anchorUp = await run.checks.check('anchor.start', async () => {
    await runCli(['anchor', 'init', '--cluster', cluster, '--dir', 'anchor', '--port', String(basePort)], run.work);
    const { url, pid } = await run.startAnchor();
    return `anchor of ${cluster} serving at ${url} (separate process ${pid})`;
  });
  if (!anchorUp) {
    for (const city of run.cities) run.impaired.set(city, 'the anchor did not start');
    return;
  }
  const cities = run.active();
  const progress = run.progress.phase('enrol', cities.length, 'cities joined');
  const invites = await runCliSession(
    cities.map((city) => ['anchor', 'invite', '--dir', 'anchor', '--city', city]),
    run.work,
    { keepGoing: true },
  );
  const started = run.clock.nowMs();
  const joined = await mapPool(cities, JOIN_CONCURRENCY, async (city, i) => {
    const invite = invites[i];
    if (invite?.code !== 0) throw new Error(`no join token: ${invite?.err.trim() || 'the invite did not run'}`);
    const token = invite.out.trim().split('\n').at(-1)!;
    const port = run.port(city);
    const t0 = run.clock.nowMs();
    const out = await runCli(
      [
        ...['node', 'join', '--dir', city, '--anchor', run.anchorUrl, '--token', token],
        ...['--endpoint', `localhost:${port}`, '--entity-id', `https://localhost:${port + 1}`],
      ],
      run.work,
    );
    run.latency.add('enrol', run.clock.nowMs() - t0);
    progress.tick();
    return out.trim().split('\n').at(-1)!;
  });
  run.latency.span('enrol', run.clock.nowMs() - started);
  for (const [i, city] of cities.entries()) {
    if (!(await run.checks.check(`enrol.${city}`, () => unwrap(joined[i]!)))) {
      run.impaired.set(city, 'enrolment failed');
    }
  }
  progress.done();

  for (const fault of run.init.faults) {
    if (run.impaired.has(fault.city)) continue;
    const kid = await pinWrongAnchorKey(run.dir(fault.city));
    run.progress.phase('fault').note(`drill: ${fault.city} now pins anchor key ${kid}, which the anchor never had`);
  }
  await trustMatrix(run);
}
