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
  checkAppend,
  checkpointMismatch,
  EMPTY_HEAD,
  validateCheckpoint,
  validateReceipt,
} from '../shared/audit-rules.js';
import { clone } from '../shared/clone.js';
import { alreadyExists } from '../shared/errors.js';
import { type PageTokenCodec, resolvePageSize } from '../shared/page-token.js';
import { requireInteger } from '../shared/validate.js';
import { keysetPage } from './keyset.js';

const ROLE_ORDER = { consumer: 0, provider: 1 } as const;

/** {@link AuditStore} in memory, for tests and fakes. */
export class MemoryAuditStore implements AuditStore {
  /** Entry `n` at index `n - 1`. */
  readonly #entries: AuditEntry[] = [];
  readonly #checkpoints = new Map<number, AuditCheckpoint>();
  readonly #receipts = new Map<string, AuditReceipt>();

  constructor(private readonly tokens: PageTokenCodec) {}

  async append(entries: readonly AuditEntry[]): Promise<AuditHead> {
    const checked = checkAppend(this.#head(), entries);
    this.#entries.push(...checked);
    return this.#head();
  }

  async appendWithReceipts(
    entries: readonly AuditEntry[],
    receipts: readonly AuditReceipt[],
  ): Promise<{ readonly head: AuditHead; readonly conflicts: readonly number[] }> {
    const checked = checkAppend(this.#head(), entries);
    const incoming = receipts.map(validateReceipt);
    this.#entries.push(...checked);
    const conflicts: number[] = [];
    incoming.forEach((receipt, i) => {
      const key = `${receipt.correlationId}\u0000${receipt.role}`;
      const stored = this.#receipts.get(key);
      if (stored === undefined) this.#receipts.set(key, receipt);
      else if (!sameContent(stored, receipt)) conflicts.push(i);
    });
    return { head: this.#head(), conflicts };
  }

  async head(): Promise<AuditHead> {
    return this.#head();
  }

  async range(fromSequence: number, limit: number): Promise<readonly AuditEntry[]> {
    const from = requireInteger('fromSequence', fromSequence, 1);
    return this.#entries.slice(from - 1, from - 1 + resolvePageSize(limit, 'limit')).map(clone);
  }

  async get(sequence: number): Promise<AuditEntry | undefined> {
    const entry = this.#entries[requireInteger('sequence', sequence, 1) - 1];
    return entry === undefined ? undefined : clone(entry);
  }

  async putCheckpoint(checkpoint: AuditCheckpoint): Promise<void> {
    const incoming = validateCheckpoint(checkpoint);
    const mismatch = checkpointMismatch(incoming, this.#entries[incoming.sequence - 1]);
    if (mismatch !== undefined) throw mismatch;
    const stored = this.#checkpoints.get(incoming.sequence);
    if (stored === undefined) this.#checkpoints.set(incoming.sequence, incoming);
    else if (!sameContent(stored, incoming))
      throw alreadyExists(`audit checkpoint ${incoming.sequence}`, { sequence: incoming.sequence });
  }

  async latestCheckpoint(): Promise<AuditCheckpoint | undefined> {
    let latest: AuditCheckpoint | undefined;
    for (const c of this.#checkpoints.values()) if (latest === undefined || c.sequence > latest.sequence) latest = c;
    return latest === undefined ? undefined : clone(latest);
  }

  async listCheckpoints(page: PageRequest = {}): Promise<Page<AuditCheckpoint>> {
    const size = resolvePageSize(page.pageSize);
    const after = this.tokens.after('audit.checkpoints', {}, page.pageToken, ['number']);
    const result = keysetPage(
      this.#checkpoints.values(),
      (c) => [c.sequence],
      after,
      size,
      (key) => this.tokens.encode('audit.checkpoints', {}, key),
    );
    return { ...result, items: result.items.map(clone) };
  }

  async putReceipt(receipt: AuditReceipt): Promise<void> {
    const incoming = validateReceipt(receipt);
    const key = `${incoming.correlationId}\u0000${incoming.role}`;
    const stored = this.#receipts.get(key);
    if (stored === undefined) this.#receipts.set(key, incoming);
    else if (!sameContent(stored, incoming)) {
      throw alreadyExists(`${incoming.role} receipt of ${incoming.correlationId}`, {
        correlationId: incoming.correlationId,
        role: incoming.role,
      });
    }
  }

  async getReceipts(correlationId: string): Promise<readonly AuditReceipt[]> {
    return [...this.#receipts.values()]
      .filter((r) => r.correlationId === correlationId)
      .sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role])
      .map(clone);
  }

  async listReceipts(page: PageRequest = {}): Promise<Page<AuditReceipt>> {
    const size = resolvePageSize(page.pageSize);
    const after = this.tokens.after('audit.receipts', {}, page.pageToken, ['string', 'string']);
    const result = keysetPage(
      this.#receipts.values(),
      (r) => [r.correlationId, r.role],
      after,
      size,
      (key) => this.tokens.encode('audit.receipts', {}, key),
    );
    return { ...result, items: result.items.map(clone) };
  }

  #head(): AuditHead {
    const last = this.#entries.at(-1);
    return last === undefined ? EMPTY_HEAD : { sequence: last.sequence, hash: last.hash };
  }
}
