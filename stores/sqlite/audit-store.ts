import { sameContent } from '../../common/content-key.js';
import type {
  AuditCheckpoint,
  AuditEntry,
  AuditHead,
  AuditReceipt,
  AuditStore,
} from '../../common/stores/audit-store.js';
import type { Page, PageRequest } from '../../common/stores/paging.js';
import {
  checkChain,
  checkpointMismatch,
  EMPTY_HEAD,
  validateCheckpoint,
  validateReceipt,
} from '../shared/audit-rules.js';
import { alreadyExists } from '../shared/errors.js';
import { type PageTokenCodec, resolvePageSize } from '../shared/page-token.js';
import { requireInteger } from '../shared/validate.js';
import { fromMs, optionalField, toMs } from './columns.js';
import type { SqliteDatabase } from './database.js';
import { afterKey, listSql, type Params, toPage } from './paging.js';

type EntryRow = {
  sequence: number;
  at: number;
  kind: string;
  actor: string;
  correlation_id: string | null;
  payload: string;
  prev_hash: string;
  hash: string;
};

type CheckpointRow = { sequence: number; hash: string; signed_at: number; kid: string; signature: string };

type ReceiptRow = {
  correlation_id: string;
  role: AuditReceipt['role'];
  receipt_jws: string;
  audit_sequence: number;
  at: number;
};

function entryFromRow(row: EntryRow): AuditEntry {
  return {
    sequence: row.sequence,
    at: fromMs(row.at),
    kind: row.kind,
    actor: row.actor,
    ...optionalField('correlationId', row.correlation_id),
    payload: row.payload,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

function checkpointFromRow(row: CheckpointRow): AuditCheckpoint {
  return {
    sequence: row.sequence,
    hash: row.hash,
    signedAt: fromMs(row.signed_at),
    kid: row.kid,
    signature: row.signature,
  };
}

function receiptFromRow(row: ReceiptRow): AuditReceipt {
  return {
    correlationId: row.correlation_id,
    role: row.role,
    receiptJws: row.receipt_jws,
    auditSequence: row.audit_sequence,
    at: fromMs(row.at),
  };
}

/** {@link AuditStore} on SQLite; triggers in the schema also refuse gaps and edits. */
export class SqliteAuditStore implements AuditStore {
  readonly #head;
  readonly #insertEntry;
  readonly #selectEntry;
  readonly #range;
  readonly #selectCheckpoint;
  readonly #insertCheckpoint;
  readonly #latestCheckpoint;
  readonly #firstCheckpoints;
  readonly #checkpointsAfter;
  readonly #selectReceipt;
  readonly #insertReceipt;
  readonly #receiptsOf;
  readonly #firstReceipts;
  readonly #receiptsAfter;
  readonly #append;
  readonly #putCheckpoint;
  readonly #putReceipt;
  readonly #appendWithReceipts;

  constructor(
    db: SqliteDatabase,
    private readonly tokens: PageTokenCodec,
  ) {
    this.#head = db.prepare<[], { sequence: number; hash: string }>(
      'SELECT sequence, hash FROM audit_entries ORDER BY sequence DESC LIMIT 1',
    );
    // Positional parameters: binding by name costs a lookup per column on every row.
    this.#insertEntry = db.prepare<[number, number, string, string, string | null, string, string, string]>(
      `INSERT INTO audit_entries (sequence, at, kind, actor, correlation_id, payload, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#selectEntry = db.prepare<[number], EntryRow>('SELECT * FROM audit_entries WHERE sequence = ?');
    this.#range = db.prepare<[number, number], EntryRow>(
      'SELECT * FROM audit_entries WHERE sequence >= ? ORDER BY sequence LIMIT ?',
    );
    this.#selectCheckpoint = db.prepare<[number], CheckpointRow>('SELECT * FROM audit_checkpoints WHERE sequence = ?');
    this.#insertCheckpoint = db.prepare<[CheckpointRow]>(
      'INSERT INTO audit_checkpoints (sequence, hash, signed_at, kid, signature) VALUES (@sequence, @hash, @signed_at, @kid, @signature)',
    );
    this.#latestCheckpoint = db.prepare<[], CheckpointRow>(
      'SELECT * FROM audit_checkpoints ORDER BY sequence DESC LIMIT 1',
    );
    this.#firstCheckpoints = db.prepare<{ limit: number }, CheckpointRow>(
      listSql('audit_checkpoints', [], ['sequence']),
    );
    const afterSequence = afterKey(['sequence'], [0]).sql;
    this.#checkpointsAfter = db.prepare<Params, CheckpointRow>(
      listSql('audit_checkpoints', [afterSequence], ['sequence']),
    );
    this.#selectReceipt = db.prepare<[string, string], ReceiptRow>(
      'SELECT * FROM audit_receipts WHERE correlation_id = ? AND role = ?',
    );
    this.#insertReceipt = db.prepare<[ReceiptRow]>(
      `INSERT INTO audit_receipts (correlation_id, role, receipt_jws, audit_sequence, at)
       VALUES (@correlation_id, @role, @receipt_jws, @audit_sequence, @at) ON CONFLICT DO NOTHING`,
    );
    this.#receiptsOf = db.prepare<[string], ReceiptRow>(
      'SELECT * FROM audit_receipts WHERE correlation_id = ? ORDER BY role',
    );
    this.#firstReceipts = db.prepare<{ limit: number }, ReceiptRow>(
      listSql('audit_receipts', [], ['correlation_id', 'role']),
    );
    const afterReceipt = afterKey(['correlation_id', 'role'], ['', '']).sql;
    this.#receiptsAfter = db.prepare<Params, ReceiptRow>(
      listSql('audit_receipts', [afterReceipt], ['correlation_id', 'role']),
    );

    // The head is read inside the write transaction, so two appenders cannot both extend
    // the same head; the loser gets AUDIT_CHAIN_BROKEN and re-reads. The batch is checked
    // once up front and its fields bound straight from the caller's objects: SQLite copies
    // them, so no per-row copy or row object is needed.
    this.#append = db.transaction((entries: readonly AuditEntry[]): AuditHead => {
      const head = checkChain(this.#head.get() ?? EMPTY_HEAD, entries);
      for (const e of entries) {
        this.#insertEntry.run(
          e.sequence,
          toMs(e.at),
          e.kind,
          e.actor,
          e.correlationId ?? null,
          e.payload,
          e.prevHash,
          e.hash,
        );
      }
      return head;
    });
    this.#appendWithReceipts = db.transaction((entries: readonly AuditEntry[], receipts: readonly AuditReceipt[]) => {
      const head = this.#append(entries);
      const conflicts: number[] = [];
      receipts.forEach((receipt, i) => {
        if (!this.#storeReceipt(receipt)) conflicts.push(i);
      });
      return { head, conflicts };
    });
    this.#putCheckpoint = db.transaction((checkpoint: AuditCheckpoint) => {
      const entry = this.#selectEntry.get(checkpoint.sequence);
      const mismatch = checkpointMismatch(checkpoint, entry === undefined ? undefined : entryFromRow(entry));
      if (mismatch !== undefined) throw mismatch;
      const stored = this.#selectCheckpoint.get(checkpoint.sequence);
      if (stored === undefined) {
        this.#insertCheckpoint.run({
          sequence: checkpoint.sequence,
          hash: checkpoint.hash,
          signed_at: toMs(checkpoint.signedAt),
          kid: checkpoint.kid,
          signature: checkpoint.signature,
        });
      } else if (!sameContent(checkpointFromRow(stored), checkpoint)) {
        throw alreadyExists(`audit checkpoint ${checkpoint.sequence}`, { sequence: checkpoint.sequence });
      }
    });
    this.#putReceipt = db.transaction((receipt: AuditReceipt) => {
      if (!this.#storeReceipt(receipt)) {
        throw alreadyExists(`${receipt.role} receipt of ${receipt.correlationId}`, {
          correlationId: receipt.correlationId,
          role: receipt.role,
        });
      }
    });
  }

  /** Inside a transaction: stores a receipt; false when a different one is already there. */
  #storeReceipt(receipt: AuditReceipt): boolean {
    const row: ReceiptRow = {
      correlation_id: receipt.correlationId,
      role: receipt.role,
      receipt_jws: receipt.receiptJws,
      audit_sequence: receipt.auditSequence,
      at: toMs(receipt.at),
    };
    if (this.#insertReceipt.run(row).changes === 1) return true;
    const stored = this.#selectReceipt.get(receipt.correlationId, receipt.role);
    return stored !== undefined && sameContent(receiptFromRow(stored), receipt);
  }

  async append(entries: readonly AuditEntry[]): Promise<AuditHead> {
    return this.#append.immediate(entries);
  }

  async appendWithReceipts(
    entries: readonly AuditEntry[],
    receipts: readonly AuditReceipt[],
  ): Promise<{ readonly head: AuditHead; readonly conflicts: readonly number[] }> {
    return this.#appendWithReceipts.immediate(entries, receipts.map(validateReceipt));
  }

  async head(): Promise<AuditHead> {
    return this.#head.get() ?? EMPTY_HEAD;
  }

  async range(fromSequence: number, limit: number): Promise<readonly AuditEntry[]> {
    const from = requireInteger('fromSequence', fromSequence, 1);
    return this.#range.all(from, resolvePageSize(limit, 'limit')).map(entryFromRow);
  }

  async get(sequence: number): Promise<AuditEntry | undefined> {
    const row = this.#selectEntry.get(requireInteger('sequence', sequence, 1));
    return row === undefined ? undefined : entryFromRow(row);
  }

  async putCheckpoint(checkpoint: AuditCheckpoint): Promise<void> {
    this.#putCheckpoint.immediate(validateCheckpoint(checkpoint));
  }

  async latestCheckpoint(): Promise<AuditCheckpoint | undefined> {
    const row = this.#latestCheckpoint.get();
    return row === undefined ? undefined : checkpointFromRow(row);
  }

  async listCheckpoints(page: PageRequest = {}): Promise<Page<AuditCheckpoint>> {
    const size = resolvePageSize(page.pageSize);
    const after = this.tokens.after('audit.checkpoints', {}, page.pageToken, ['number']);
    const rows =
      after === undefined
        ? this.#firstCheckpoints.all({ limit: size + 1 })
        : this.#checkpointsAfter.all({ limit: size + 1, ...afterKey(['sequence'], after).params });
    return toPage(rows, size, checkpointFromRow, (last) =>
      this.tokens.encode('audit.checkpoints', {}, [last.sequence]),
    );
  }

  async putReceipt(receipt: AuditReceipt): Promise<void> {
    this.#putReceipt(validateReceipt(receipt));
  }

  async getReceipts(correlationId: string): Promise<readonly AuditReceipt[]> {
    return this.#receiptsOf.all(correlationId).map(receiptFromRow);
  }

  async listReceipts(page: PageRequest = {}): Promise<Page<AuditReceipt>> {
    const size = resolvePageSize(page.pageSize);
    const after = this.tokens.after('audit.receipts', {}, page.pageToken, ['string', 'string']);
    const rows =
      after === undefined
        ? this.#firstReceipts.all({ limit: size + 1 })
        : this.#receiptsAfter.all({ limit: size + 1, ...afterKey(['correlation_id', 'role'], after).params });
    return toPage(rows, size, receiptFromRow, (last) =>
      this.tokens.encode('audit.receipts', {}, [last.correlationId, last.role]),
    );
  }
}
