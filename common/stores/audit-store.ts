import type { Page, PageRequest } from './paging.js';

/** `prevHash` of the first entry: 64 zero hex digits (the chain's genesis). */
export const GENESIS_PREV_HASH = '0'.repeat(64);

/**
 * One entry of the hash-chained audit log. The caller computes `hash` (over the
 * canonical entry and `prevHash`, in the pure audit core); the store only keeps the
 * chain contiguous and never rewrites an entry.
 */
export type AuditEntry = {
  /** 1 for the first entry, then +1 per entry, no gaps. */
  readonly sequence: number;
  readonly at: Date;
  /** What happened, `noun.past_tense` (`exchange.completed`). */
  readonly kind: string;
  /** Who did it (a SPIFFE id, a subject, `system`). */
  readonly actor: string;
  /** Shared by the consumer's and the provider's entries of one exchange. */
  readonly correlationId?: string;
  /** Canonical JSON text; hashed as is. */
  readonly payload: string;
  /** `hash` of the previous entry, or {@link GENESIS_PREV_HASH} for sequence 1. */
  readonly prevHash: string;
  /** Lower-case hex SHA-256. */
  readonly hash: string;
};

/** The last entry of the chain; `{ sequence: 0, hash: GENESIS_PREV_HASH }` when empty. */
export type AuditHead = {
  readonly sequence: number;
  readonly hash: string;
};

/** A signed statement that the chain up to `sequence` ends in `hash`. */
export type AuditCheckpoint = {
  readonly sequence: number;
  readonly hash: string;
  readonly signedAt: Date;
  /** Key that signed it (purpose `audit`). */
  readonly kid: string;
  /** The signature (a JWS), verified by the caller. */
  readonly signature: string;
};

/** The provider's receipt of one exchange, kept by both sides. */
export type AuditReceipt = {
  readonly correlationId: string;
  /** Which side of the exchange stored it. */
  readonly role: 'consumer' | 'provider';
  /** The receipt as a compact JWS. */
  readonly receiptJws: string;
  /** The audit sequence the receipt names (the provider's log). */
  readonly auditSequence: number;
  readonly at: Date;
};

/** The append-only audit log of a node, its checkpoints and exchange receipts. */
export interface AuditStore {
  /**
   * Appends entries in one transaction. The first must continue the head (`sequence =
   * head.sequence + 1`, `prevHash = head.hash`; genesis: sequence 1 and
   * {@link GENESIS_PREV_HASH}), and each next one the previous (`sequence + 1`,
   * `prevHash` = its `hash`). Otherwise fails with `AUDIT_CHAIN_BROKEN` and writes
   * nothing. Hashes themselves are not recomputed here.
   */
  append(entries: readonly AuditEntry[]): Promise<AuditHead>;

  /**
   * {@link append} and {@link putReceipt} in one transaction, so an exchange's entry and
   * its receipt cost one fsync. The entries follow `append`'s rules (all or nothing). A
   * receipt that conflicts with a stored one (same correlation id and role, other
   * content) is not stored and does not fail the batch: its index is returned in
   * `conflicts`, so only that caller is refused.
   */
  appendWithReceipts(
    entries: readonly AuditEntry[],
    receipts: readonly AuditReceipt[],
  ): Promise<{ readonly head: AuditHead; readonly conflicts: readonly number[] }>;

  /** The last entry's sequence and hash. */
  head(): Promise<AuditHead>;

  /**
   * Up to `limit` entries from `fromSequence` on, in order; `limit` is capped at
   * MAX_PAGE_SIZE and 0 means DEFAULT_PAGE_SIZE, like a page size.
   */
  range(fromSequence: number, limit: number): Promise<readonly AuditEntry[]>;

  /** The entry, or `undefined` when the chain is shorter. */
  get(sequence: number): Promise<AuditEntry | undefined>;

  /**
   * Stores a checkpoint. Its sequence must exist (`AUDIT_ENTRY_NOT_FOUND`) and its hash
   * equal that entry's hash (`AUDIT_CHECKPOINT_INVALID`). One checkpoint per sequence:
   * an identical one again is a no-op, a different one fails with `ALREADY_EXISTS`.
   */
  putCheckpoint(checkpoint: AuditCheckpoint): Promise<void>;

  /** The checkpoint with the highest sequence, or `undefined`. */
  latestCheckpoint(): Promise<AuditCheckpoint | undefined>;

  /** Checkpoints in sequence order. */
  listCheckpoints(page?: PageRequest): Promise<Page<AuditCheckpoint>>;

  /**
   * Stores a receipt; one per correlation id and role. An identical one again is a
   * no-op, a different one fails with `ALREADY_EXISTS`.
   */
  putReceipt(receipt: AuditReceipt): Promise<void>;

  /** The receipts of one exchange (none, one or both roles), consumer first. */
  getReceipts(correlationId: string): Promise<readonly AuditReceipt[]>;

  /** Receipts in (`correlationId`, `role`) order. */
  listReceipts(page?: PageRequest): Promise<Page<AuditReceipt>>;
}
