import { canonicalize } from '../../../common/canonical-json.js';
import { isMeshError, MeshError } from '../../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../../common/errors/registry.js';
import {
  type AuditCheckpoint,
  type AuditEntry,
  type AuditStore,
  GENESIS_PREV_HASH,
} from '../../../common/stores/audit-store.js';
import type { KeyStore } from '../../../common/stores/key-store.js';
import { MAX_PAGE_SIZE } from '../../../common/stores/paging.js';
import { type JwkSet, publishedJwk } from '../../../trust-anchor/index.js';
import { hashEntry, verifyCheckpoint } from '../../audit/index.js';

/** An inclusive range of sequence numbers; `to` 0 on an empty chain. */
export interface SequenceRange {
  readonly from: number;
  readonly to: number;
}

/**
 * The range a request names: `from` 0 is entry 1, `to` 0 the head now. A range beyond the
 * head is `AUDIT_ENTRY_NOT_FOUND`, a reversed one `MALFORMED_REQUEST`.
 */
export async function rangeOf(store: AuditStore, fromSequence: number, toSequence: number): Promise<SequenceRange> {
  const head = await store.head();
  const from = Math.max(1, fromSequence);
  const to = toSequence === 0 ? head.sequence : toSequence;
  if (to > head.sequence) {
    throw new MeshError('AUDIT_ENTRY_NOT_FOUND', `the audit log ends at entry ${head.sequence}, not ${to}`, {
      details: { field: 'to_sequence', head: head.sequence },
    });
  }
  if (head.sequence === 0) return { from: 0, to: 0 };
  if (from > to) {
    throw new MeshError('MALFORMED_REQUEST', `from_sequence ${from} is after to_sequence ${to}`, {
      details: { field: 'from_sequence' },
    });
  }
  return { from, to };
}

/** Entries `from..to` in order, one store page at a time. */
export async function* entriesIn(store: AuditStore, range: SequenceRange): AsyncGenerator<AuditEntry> {
  for (let next = range.from; next >= 1 && next <= range.to; ) {
    const page = await store.range(next, Math.min(MAX_PAGE_SIZE, range.to - next + 1));
    if (page.length === 0) return;
    for (const entry of page) {
      if (entry.sequence > range.to) return;
      yield entry;
    }
    next = page.at(-1)!.sequence + 1;
  }
}

/** Every checkpoint, in sequence order, one store page at a time. */
export async function* allCheckpoints(store: AuditStore): AsyncGenerator<AuditCheckpoint> {
  let pageToken: string | undefined;
  do {
    const page = await store.listCheckpoints({ pageSize: MAX_PAGE_SIZE, ...(pageToken ? { pageToken } : {}) });
    yield* page.items;
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
}

/**
 * The node's public federation keys, retired ones included: older checkpoints were signed
 * with them (the same set `citymesh audit export` writes into its header).
 */
export async function ownFederationKeys(keys: KeyStore): Promise<JwkSet> {
  const page = await keys.list({ purpose: 'federation' }, { pageSize: MAX_PAGE_SIZE });
  return { keys: page.items.filter((k) => k.status !== 'revoked').map(publishedJwk) };
}

/** What {@link verifyRange} found. */
export interface RangeVerdict {
  readonly valid: boolean;
  readonly from: number;
  /** Last sequence verified; the last good one when invalid. */
  readonly to: number;
  readonly firstInvalid: number;
  readonly reason?: ErrorCode;
  readonly message?: string;
  /** The latest checkpoint inside the range that verified. */
  readonly checkpoint?: AuditCheckpoint;
}

function isCanonical(text: string): boolean {
  try {
    return canonicalize(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}

/**
 * Checks a range of the stored chain as the offline verifier checks an export, without
 * loading it: each entry has the next sequence, links to the previous hash (entry
 * `from - 1`'s hash is taken as the starting point), has a canonical payload and hashes to
 * its hash; each checkpoint inside the range is signed by this node and signs the hash the
 * chain has there. Memory stays flat: checkpoints are few (one per `checkpointEvery`
 * entries) and entries are read page by page.
 */
export async function verifyRange(
  store: AuditStore,
  range: SequenceRange,
  options: { keys: JwkSet; nodeId: string; now: Date },
): Promise<RangeVerdict> {
  if (range.to === 0) return { valid: true, from: 0, to: 0, firstInvalid: 0 };
  const inRange = new Map<number, AuditCheckpoint>();
  for await (const c of allCheckpoints(store))
    if (c.sequence >= range.from && c.sequence <= range.to) inRange.set(c.sequence, c);

  let lastGood = range.from - 1;
  let latest: AuditCheckpoint | undefined;
  const fail = (firstInvalid: number, reason: ErrorCode, message: string): RangeVerdict => ({
    valid: false,
    from: range.from,
    to: firstInvalid - 1,
    firstInvalid,
    reason,
    message,
    ...(latest ? { checkpoint: latest } : {}),
  });
  let prevHash = range.from === 1 ? GENESIS_PREV_HASH : (await store.get(range.from - 1))?.hash;
  let expected = range.from;
  try {
    for await (const entry of entriesIn(store, range)) {
      const why =
        entry.sequence !== expected
          ? `entry ${expected} is missing (found ${entry.sequence} in its place)`
          : entry.prevHash !== prevHash
            ? `entry ${expected} does not link to the hash of entry ${expected - 1}`
            : !isCanonical(entry.payload)
              ? `entry ${expected}: the payload is not RFC 8785 canonical JSON`
              : hashEntry(entry) !== entry.hash
                ? `entry ${expected}: its content does not hash to its recorded hash`
                : undefined;
      if (why !== undefined) return fail(expected, 'AUDIT_CHAIN_BROKEN', why);
      const checkpoint = inRange.get(expected);
      if (checkpoint !== undefined) {
        const problem = await checkpointProblem(checkpoint, entry, options);
        // The rewrite lies somewhere after the last checkpoint that still agreed.
        if (problem !== undefined) return fail(lastGood + 1, 'AUDIT_CHECKPOINT_INVALID', problem);
        lastGood = expected;
        latest = checkpoint;
      }
      prevHash = entry.hash;
      expected++;
    }
  } catch (err) {
    if (isMeshError(err) && err.code === 'STORE_CORRUPTED') return fail(expected, 'STORE_CORRUPTED', err.message);
    throw err;
  }
  if (expected !== range.to + 1) return fail(expected, 'AUDIT_CHAIN_BROKEN', `entry ${expected} is missing`);
  return { valid: true, from: range.from, to: range.to, firstInvalid: 0, ...(latest ? { checkpoint: latest } : {}) };
}

async function checkpointProblem(
  checkpoint: AuditCheckpoint,
  entry: AuditEntry,
  options: { keys: JwkSet; nodeId: string; now: Date },
): Promise<string | undefined> {
  try {
    await verifyCheckpoint(checkpoint, options);
  } catch (err) {
    if (isMeshError(err)) return err.message;
    throw err;
  }
  return checkpoint.hash === entry.hash
    ? undefined
    : `checkpoint ${checkpoint.sequence} signs another hash than entry ${checkpoint.sequence} has`;
}
