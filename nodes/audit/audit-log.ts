import { canonicalizeFast, type JsonValue } from '../../common/canonical-json.js';
import type { Clock } from '../../common/clock.js';
import { isMeshError, MeshError } from '../../common/errors/mesh-error.js';
import { type Logger, silentLogger } from '../../common/logger.js';
import type {
  AuditCheckpoint,
  AuditEntry,
  AuditHead,
  AuditReceipt,
  AuditStore,
} from '../../common/stores/audit-store.js';
import { signCheckpoint } from './checkpoint.js';
import { hashEntry } from './entry-hash.js';
import type { AuditSigner } from './signer.js';

/** Something that happened, as the caller reports it. */
export interface AuditEvent {
  /** `noun.past_tense`: `decision.made`, `exchange.served`, `agreement.terminated`. */
  readonly kind: string;
  /** Who caused it: a SPIFFE id, a subject, `system`. */
  readonly actor: string;
  /** Shared by the consumer's and the provider's entries of one exchange. */
  readonly correlationId?: string;
  /** Plain I-JSON data; stored and hashed as its RFC 8785 canonical form. */
  readonly payload: { readonly [member: string]: JsonValue };
}

/** Where an event landed in the chain, once it is durable. */
export interface AppendedEntry {
  readonly sequence: number;
  readonly hash: string;
  readonly at: Date;
}

/** Options of {@link AuditLog.open}. */
export interface AuditLogInit {
  readonly store: AuditStore;
  readonly clock: Clock;
  /** Signs checkpoints with the node's key. */
  readonly signer: AuditSigner;
  /** This node's SPIFFE id, named in every checkpoint. */
  readonly nodeId: string;
  /** Sign a checkpoint once this many entries follow the last one; 10 000 by default. */
  readonly checkpointEvery?: number;
  /** Most entries per store transaction; 10 000 by default. */
  readonly maxBatch?: number;
  readonly logger?: Logger;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A checked event waiting for its batch; flat, so each append allocates one object besides its promise. */
type Pending = {
  readonly at: Date;
  readonly kind: string;
  readonly actor: string;
  readonly correlationId: string | undefined;
  /** Canonical JSON text. */
  readonly payload: string;
  /** Builds the receipt stored with this entry, once its sequence is known. */
  receipt?: ((entry: AppendedEntry) => Promise<AuditReceipt>) | undefined;
  resolve: (entry: AppendedEntry & { receipt?: AuditReceipt }) => void;
  reject: (err: unknown) => void;
};

const KIND = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/**
 * A node's append-only, hash-chained audit log.
 *
 * Appends go through one queue, so concurrent callers never fork the chain: each entry's
 * `prevHash` is the hash of the entry committed just before it. Group commit: appends that
 * arrive while a store transaction is being committed wait and go together in the next
 * one, and each append resolves only after the transaction holding it is durable (the
 * SQLite store commits with `synchronous=FULL`). One fsync thus covers a whole batch,
 * which is where the throughput comes from. A batch that fails rejects every append in it
 * and nothing of it is written; the log re-reads the head and goes on.
 *
 * A checkpoint (the head, signed) is stored every `checkpointEvery` entries and on
 * {@link AuditLog.close}.
 */
export class AuditLog {
  readonly #store: AuditStore;
  readonly #clock: Clock;
  readonly #signer: AuditSigner;
  readonly #log: Logger;
  readonly #checkpointEvery: number;
  readonly #maxBatch: number;
  /** This node's SPIFFE id. */
  readonly nodeId: string;
  #head: AuditHead;
  #checkpointed: number;
  #pending: Pending[] = [];
  #draining: Promise<void> | undefined;
  #checkpointing: Promise<AuditCheckpoint | undefined> = Promise.resolve(undefined);
  #closed = false;

  private constructor(init: AuditLogInit, head: AuditHead, checkpointed: number) {
    this.#store = init.store;
    this.#clock = init.clock;
    this.#signer = init.signer;
    this.#log = init.logger ?? silentLogger;
    this.nodeId = init.nodeId;
    this.#checkpointEvery = positive('checkpointEvery', init.checkpointEvery ?? 10_000);
    this.#maxBatch = positive('maxBatch', init.maxBatch ?? 10_000);
    this.#head = head;
    this.#checkpointed = checkpointed;
  }

  /** Opens the log on a store, continuing its chain where it ends. */
  static async open(init: AuditLogInit): Promise<AuditLog> {
    const head = await init.store.head();
    const latest = await init.store.latestCheckpoint();
    return new AuditLog(init, head, latest?.sequence ?? 0);
  }

  /** The last durable entry. */
  get head(): AuditHead {
    return this.#head;
  }

  /**
   * Appends one event; resolves once its entry is durable, with its sequence and hash.
   *
   * @throws MeshError `MALFORMED_REQUEST` for an event that cannot be recorded (checked at
   *   once, so a bad event never fails the batch it would have joined); a failed store
   *   transaction rejects with the store's error
   */
  append(
    event: AuditEvent,
    options: { receipt?: (entry: AppendedEntry) => Promise<AuditReceipt> } = {},
  ): Promise<AppendedEntry & { receipt?: AuditReceipt }> {
    let pending: Pending;
    try {
      // Appending after close is a programming error, not a request failure.
      if (this.#closed) throw new Error('the audit log is closed');
      pending = prepare(event, this.#clock.now());
      pending.receipt = options.receipt;
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      pending.resolve = resolve;
      pending.reject = reject;
      this.#pending.push(pending);
      this.#draining ??= this.#drain();
    });
  }

  /** Resolves once everything appended so far has been committed (or refused). */
  async flush(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  /** Signs and stores a checkpoint at the current head unless one is there; returns it. */
  async checkpoint(): Promise<AuditCheckpoint | undefined> {
    await this.flush();
    return this.#checkpointHead();
  }

  /** Commits what is queued, checkpoints the head, and refuses further appends. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.checkpoint();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        // A commit blocks the event loop for its fsync; yield one turn first so requests
        // that arrived meanwhile reach their appends and share the next commit.
        await new Promise((resolve) => setImmediate(resolve));
        const batch = this.#pending.splice(0, this.#maxBatch);
        await this.#commit(batch);
        if (this.#head.sequence - this.#checkpointed >= this.#checkpointEvery) {
          await this.#checkpointHead().catch((err: unknown) => {
            // A checkpoint is retried after the next batch; appends must not fail for it.
            this.#log.error({ event: 'audit.checkpoint_failed', err }, 'could not sign an audit checkpoint');
          });
        }
      }
    } finally {
      this.#draining = undefined;
    }
  }

  async #commit(batch: readonly Pending[]): Promise<void> {
    // One retry: another writer (the CLI on a running node's store) may have moved the
    // head; the refused transaction wrote nothing, so the batch is rebuilt on the new head.
    for (let attempt = 0; ; attempt++) {
      const entries = this.#chain(batch);
      let stored: { head: AuditHead; conflicts: readonly number[] };
      let receipts: (AuditReceipt | undefined)[];
      try {
        receipts = await Promise.all(
          batch.map((p, i) => {
            const e = entries[i] as AuditEntry;
            return p.receipt?.({ sequence: e.sequence, hash: e.hash, at: e.at });
          }),
        );
        const withReceipts = receipts.filter((r): r is AuditReceipt => r !== undefined);
        stored = await this.#store.appendWithReceipts(entries, withReceipts);
      } catch (err) {
        // Another writer may have moved the head (AUDIT_CHAIN_BROKEN): continue from the store's.
        const previous = this.#head;
        this.#head = await this.#store.head().catch(() => this.#head);
        if (attempt === 0 && isMeshError(err, 'AUDIT_CHAIN_BROKEN') && this.#head.sequence !== previous.sequence) {
          this.#log.warn(
            { event: 'audit.head_moved', from: previous.sequence, to: this.#head.sequence },
            'another writer appended; retrying',
          );
          continue;
        }
        for (const p of batch) p.reject(err);
        this.#log.error({ event: 'audit.append_failed', entries: batch.length, err }, 'audit batch not written');
        return;
      }
      this.#head = stored.head;
      // Conflicts are indexes into the receipts actually sent; map them back to callers.
      const conflicted = new Set<number>();
      let r = 0;
      receipts.forEach((receipt, i) => {
        if (receipt === undefined) return;
        if (stored.conflicts.includes(r)) conflicted.add(i);
        r++;
      });
      batch.forEach((p, i) => {
        const e = entries[i] as AuditEntry;
        const receipt = receipts[i];
        if (conflicted.has(i)) {
          p.reject(
            new MeshError(
              'ALREADY_EXISTS',
              `a different ${receipt?.role} receipt of ${receipt?.correlationId} is stored`,
              {
                details: { correlationId: receipt?.correlationId ?? '' },
              },
            ),
          );
        } else {
          p.resolve({ sequence: e.sequence, hash: e.hash, at: e.at, ...(receipt ? { receipt } : {}) });
        }
      });
      return;
    }
  }

  /** The batch as chain entries on the current head. */
  #chain(batch: readonly Pending[]): AuditEntry[] {
    const entries: AuditEntry[] = new Array(batch.length);
    let { sequence, hash } = this.#head;
    for (let i = 0; i < batch.length; i++) {
      const { at, kind, actor, correlationId, payload } = batch[i] as Pending;
      sequence++;
      // Built member by member, hash filled in after: no spreads on the per-entry hot path.
      const entry: Mutable<AuditEntry> =
        correlationId === undefined
          ? { sequence, at, kind, actor, payload, prevHash: hash, hash: '' }
          : { sequence, at, kind, actor, correlationId, payload, prevHash: hash, hash: '' };
      entry.hash = hash = hashEntry(entry);
      entries[i] = entry;
    }
    return entries;
  }

  /** Serialized, so two callers never sign the same head twice (a second, different signature would be refused). */
  #checkpointHead(): Promise<AuditCheckpoint | undefined> {
    this.#checkpointing = this.#checkpointing
      .catch(() => undefined)
      .then(async () => {
        const head = this.#head;
        if (head.sequence === 0 || head.sequence <= this.#checkpointed) return undefined;
        const checkpoint = await signCheckpoint(
          { sequence: head.sequence, hash: head.hash, nodeId: this.nodeId, signedAt: this.#clock.now() },
          this.#signer,
        );
        await this.#store.putCheckpoint(checkpoint);
        this.#checkpointed = head.sequence;
        return checkpoint;
      });
    return this.#checkpointing;
  }
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer`);
  return value;
}

function requireField(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new MeshError('MALFORMED_REQUEST', `audit event ${name} must be a non-empty string`, {
      details: { field: name },
    });
  }
  return value;
}

/** Checks an event at once (so a bad one never fails the batch it would join) and canonicalizes its payload. */
function prepare(event: AuditEvent, at: Date): Pending {
  const kind = requireField('kind', event?.kind);
  if (!KIND.test(kind)) {
    throw new MeshError('MALFORMED_REQUEST', `audit event kind "${kind}" must be noun.past_tense (a.b, lower case)`, {
      details: { field: 'kind' },
    });
  }
  const actor = requireField('actor', event.actor);
  const correlationId =
    event.correlationId === undefined ? undefined : requireField('correlationId', event.correlationId);
  const payload = event.payload;
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new MeshError('MALFORMED_REQUEST', 'audit event payload must be a JSON object', {
      details: { field: 'payload' },
    });
  }
  // One pass: the generic canonicalize() (an I-JSON check, then the package) was the
  // largest single cost of an append.
  return { at, kind, actor, correlationId, payload: canonicalizeFast(payload), resolve: settle, reject: settle };
}

/** Placeholder until the append's promise exists; replaced before the entry is queued. */
function settle(): void {}
