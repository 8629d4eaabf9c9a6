import { join } from 'node:path';
import type { Clock } from '../common/clock.js';
import { openSqliteStores } from '../stores/index.js';
import { sleep } from './pool.js';

/** Often enough that the moment a version is committed is known to within a few ms. */
const POLL_MS = 10;

/**
 * Watches the anchor's store for the first metadata version above `baseline` and tells
 * when it became visible. Every node gets metadata from what the anchor committed there
 * (by pull or by gossip), so this is the instant reach is measured from: the signed
 * version's own `iat` has whole seconds only, and the CLI's exit comes some time later.
 */
export function watchAnchorStore(
  work: string,
  baseline: number,
  clock: Clock,
  timeoutMs: number,
): { committed: Promise<{ version: number; atMs: number }>; stop(): void } {
  let stopped = false;
  const committed = (async () => {
    const stores = openSqliteStores(join(work, 'anchor', 'anchor.db'));
    try {
      const until = clock.nowMs() + timeoutMs;
      while (!stopped && clock.nowMs() < until) {
        const latest = await stores.anchor.latestMetadata();
        if (latest && latest.version > baseline) return { version: latest.version, atMs: clock.nowMs() };
        await sleep(POLL_MS);
      }
      throw new Error(`no metadata version above v${baseline} was committed within ${timeoutMs / 1000} s`);
    } finally {
      await stores.close();
    }
  })();
  return {
    committed,
    stop: () => {
      stopped = true;
    },
  };
}

/** A metadata change made with an `anchor` command, and when the anchor's store committed it. */
export interface AnchorChange {
  /** What the command printed. */
  readonly output: string;
  readonly version: number;
  readonly committedAtMs: number;
}

/**
 * Runs an operator's `citymesh anchor <args>` that publishes a new metadata version,
 * watching the anchor's store meanwhile: how long nodes take to hold the version is
 * measured from `committedAtMs`, not from when the command was started or returned.
 */
export async function anchorChange(
  work: string,
  clock: Clock,
  command: () => Promise<string>,
  timeoutMs = 30_000,
): Promise<AnchorChange> {
  const stores = openSqliteStores(join(work, 'anchor', 'anchor.db'));
  let baseline: number;
  try {
    baseline = (await stores.anchor.latestMetadata())?.version ?? 0;
  } finally {
    await stores.close();
  }
  const watch = watchAnchorStore(work, baseline, clock, timeoutMs);
  try {
    const output = await command();
    const committed = await watch.committed;
    return { output, version: committed.version, committedAtMs: committed.atMs };
  } finally {
    watch.stop();
    // A failed command leaves the watch to time out: wait for it to close its store.
    await watch.committed.catch(() => undefined);
  }
}
