import type {
  DatasetRecord,
  NewRecord,
  RecordPage,
  RecordPageRequest,
  RecordStore,
} from '../../common/stores/record-store.js';
import { resolvePageSize } from '../shared/page-token.js';
import { recordExists, validateRecordBatch } from '../shared/record-rules.js';
import { requireInteger } from '../shared/validate.js';
import { fromMs, optionalField, toMs } from './columns.js';
import type { SqliteDatabase } from './database.js';

type RecordRow = { dataset_id: string; sequence: number; record_id: string | null; json: string; appended_at: number };

function fromRow(row: RecordRow): DatasetRecord {
  return {
    datasetId: row.dataset_id,
    sequence: row.sequence,
    ...optionalField('recordId', row.record_id),
    json: row.json,
    appendedAt: fromMs(row.appended_at),
  };
}

/** {@link RecordStore} on SQLite. */
export class SqliteRecordStore implements RecordStore {
  readonly #lastSequence;
  readonly #setLastSequence;
  readonly #hasRecordId;
  readonly #insert;
  readonly #page;
  readonly #count;
  readonly #delete;
  readonly #append;

  constructor(db: SqliteDatabase) {
    this.#lastSequence = db.prepare<[string], { last_sequence: number }>(
      'SELECT last_sequence FROM dataset_sequences WHERE dataset_id = ?',
    );
    this.#setLastSequence = db.prepare<[string, number]>(
      `INSERT INTO dataset_sequences (dataset_id, last_sequence) VALUES (?, ?)
       ON CONFLICT (dataset_id) DO UPDATE SET last_sequence = excluded.last_sequence`,
    );
    this.#hasRecordId = db.prepare<[string, string], { one: 1 }>(
      'SELECT 1 AS one FROM dataset_records WHERE dataset_id = ? AND record_id = ?',
    );
    this.#insert = db.prepare<[RecordRow]>(
      'INSERT INTO dataset_records (dataset_id, sequence, record_id, json, appended_at) VALUES (@dataset_id, @sequence, @record_id, @json, @appended_at)',
    );
    this.#page = db.prepare<[string, number, number], RecordRow>(
      'SELECT * FROM dataset_records WHERE dataset_id = ? AND sequence > ? ORDER BY sequence LIMIT ?',
    );
    this.#count = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM dataset_records WHERE dataset_id = ?');
    this.#delete = db.prepare<[string]>('DELETE FROM dataset_records WHERE dataset_id = ?');
    // Throwing inside the transaction function rolls the whole batch back: all or nothing.
    this.#append = db.transaction((datasetId: string, records: readonly NewRecord[], at: Date) => {
      for (const r of records)
        if (r.recordId !== undefined && this.#hasRecordId.get(datasetId, r.recordId) !== undefined)
          throw recordExists(datasetId, r.recordId);
      const firstSequence = (this.#lastSequence.get(datasetId)?.last_sequence ?? 0) + 1;
      records.forEach((r, i) => {
        this.#insert.run({
          dataset_id: datasetId,
          sequence: firstSequence + i,
          record_id: r.recordId ?? null,
          json: r.json,
          appended_at: toMs(at),
        });
      });
      const lastSequence = firstSequence + records.length - 1;
      this.#setLastSequence.run(datasetId, lastSequence);
      return { firstSequence, lastSequence };
    });
  }

  async appendBatch(
    datasetId: string,
    records: readonly NewRecord[],
    at: Date,
  ): Promise<{ firstSequence: number; lastSequence: number }> {
    validateRecordBatch(datasetId, records, at);
    return this.#append.immediate(datasetId, records, at);
  }

  async page(datasetId: string, request: RecordPageRequest = {}): Promise<RecordPage> {
    const after = requireInteger('afterSequence', request.afterSequence ?? 0, 0);
    const limit = resolvePageSize(request.limit, 'limit');
    const rows = this.#page.all(datasetId, after, limit + 1);
    const items = rows.slice(0, limit).map(fromRow);
    const last = items.at(-1);
    return { items, ...(rows.length > limit && last !== undefined ? { nextAfterSequence: last.sequence } : {}) };
  }

  async count(datasetId: string): Promise<number> {
    return (this.#count.get(datasetId) as { n: number }).n;
  }

  async highSequence(datasetId: string): Promise<number> {
    return this.#lastSequence.get(datasetId)?.last_sequence ?? 0;
  }

  async deleteDataset(datasetId: string): Promise<number> {
    // dataset_sequences keeps the high-water mark: sequences are never reused.
    return this.#delete.run(datasetId).changes;
  }
}
