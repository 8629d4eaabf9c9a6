import { readFileSync } from 'node:fs';
import { decodeJwt } from 'jose';
import { nodePath, TrustState } from '../../nodes/index.js';
import { anchorChange } from '../anchor-watch.js';
import { expectThat } from '../checks.js';
import { mapPool } from '../pool.js';
import type { SimulationRun } from '../run-state.js';
import { allReach } from './converge.js';
import { expectRingServed, ringFetch } from './ring.js';

function pinnedKids(run: SimulationRun, city: string): string[] {
  const pins = JSON.parse(readFileSync(nodePath(run.dir(city), 'pins'), 'utf8')) as { keys: { kid?: string }[] };
  return pins.keys.map((k) => k.kid ?? '');
}

function versionOnDisk(run: SimulationRun, city: string): number {
  return decodeJwt(readFileSync(nodePath(run.dir(city), 'metadata'), 'utf8')).version as number;
}

/** How long a node may take to write a version it already holds (docs/specs/gossip.md §5.1.1). */
const WRITE_DEADLINE_MS = 10_000;

/**
 * The cities for which `onDisk` is still false once the deadline has passed. A node holds
 * a version as soon as it verifies it and writes it just after, so what its files say is
 * polled, not read once.
 */
async function notOnDisk(run: SimulationRun, cities: readonly string[], onDisk: (city: string) => boolean) {
  const until = run.clock.nowMs() + WRITE_DEADLINE_MS;
  for (;;) {
    const missing = cities.filter((c) => !onDisk(c));
    if (missing.length === 0 || run.clock.nowMs() >= until) return missing;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Anchor key rollover in its two stages. `publish` announces the next key in metadata
 * signed by the current one, and every node pins it; `activate` then switches the signer.
 * Activation is forced: the overlap the anchor otherwise waits is one metadata lifetime
 * (at least 60 s), and the first check has just shown every node holds the next key.
 */
export async function rolloverPhase(run: SimulationRun): Promise<void> {
  const cities = run.serving();
  const progress = run.progress.phase('rollover');
  let kid = '';
  await run.checks.check('rollover.next-key-pinned', async () => {
    const change = await anchorChange(run.work, run.clock, () => run.anchorCli(['rotate', '--stage', 'publish']));
    const published = JSON.parse(change.output) as { kid: string; metadataVersion: number };
    const slowest = Math.max(...(await allReach(run, cities, published.metadataVersion, change.committedAtMs)));
    const missing = await notOnDisk(run, cities, (c) => pinnedKids(run, c).includes(published.kid));
    expectThat(missing.length === 0, `next key ${published.kid} not pinned by ${missing.join(', ')}`);
    kid = published.kid;
    return `next anchor key ${kid} published in v${published.metadataVersion}; every node pinned it within ${slowest} ms of its commit`;
  });
  await run.checks.check('rollover.activated', async () => {
    expectThat(kid !== '', 'no next key was published and pinned');
    const change = await anchorChange(run.work, run.clock, () =>
      run.anchorCli(['rotate', '--stage', 'activate', '--force']),
    );
    const activated = JSON.parse(change.output) as { metadataVersion: number };
    const slowest = Math.max(...(await allReach(run, cities, activated.metadataVersion, change.committedAtMs)));
    const unwritten = await notOnDisk(run, cities, (c) => versionOnDisk(run, c) >= activated.metadataVersion);
    expectThat(unwritten.length === 0, `v${activated.metadataVersion} not written by ${unwritten.join(', ')}`);
    // Each city, with its pins as they are now, verifies its cached metadata (signed with
    // the new key) and the next city's subordinate statement (signed with it too).
    const verified = await mapPool(cities, 4, async (city, i) => {
      const state = await TrustState.load(run.dir(city), run.clock);
      await state.verifyPeerCity(cities[(i + 1) % cities.length]!);
    });
    const failed = cities.flatMap((c, i) => {
      const v = verified[i]!;
      return v.status === 'rejected'
        ? [`${c}: ${v.reason instanceof Error ? v.reason.message : String(v.reason)}`]
        : [];
    });
    expectThat(failed.length === 0, `no longer verifies after the switch: ${failed.join('; ')}`);
    expectRingServed(await ringFetch(run, cities));
    return `key ${kid} signs from v${activated.metadataVersion}: every node took it within ${slowest} ms of its commit, verifies metadata and statements signed with it, and exchanges`;
  });
  progress.done();
}
