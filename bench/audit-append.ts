import { join } from 'node:path';
import Database from 'better-sqlite3';
import { systemClock } from '../common/clock.js';
import type { AuditEntry, AuditHead, AuditStore } from '../common/stores/audit-store.js';
import { AuditLog, keySigner } from '../nodes/audit/index.js';
import { openSqliteStores } from '../stores/index.js';
import { createKey, signingKey } from '../trust-anchor/index.js';
import { type BenchContext, type BenchSuite, benchResult } from './result.js';

/** Appenders in flight at once, each awaiting its durable append before the next (a busy node's requests). */
const CONCURRENCY = 1000;
const NODE_ID = 'spiffe://beijing.jjj.citymesh/node/n1';

/** An exchange entry of a realistic size: digests, method, consumer. */
function eventOf(i: number) {
  return {
    kind: 'exchange.served',
    actor: 'spiffe://tianjin.jjj.citymesh/node/n1',
    correlationId: `corr-${i}`,
    payload: {
      method: '/citymesh.v1.DatasetService/FetchRecords',
      requestHash: i.toString(16).padStart(64, '0'),
      responseDigest: (i * 7).toString(16).padStart(64, 'f'),
      consumerNodeId: 'spiffe://tianjin.jjj.citymesh/node/n1',
      providerNodeId: NODE_ID,
    },
  };
}

/**
 * The real store, remembering the size of each committed batch so the baseline can replay
 * the same rows in the same transactions. Only sizes: holding 200 000 entries during the
 * measured run would grow the old generation and bill its garbage collections to the log.
 */
function recordingStore(inner: AuditStore, batchSizes: number[]): AuditStore {
  return {
    append: async (entries: readonly AuditEntry[]): Promise<AuditHead> => {
      const head = await inner.append(entries);
      batchSizes.push(entries.length);
      return head;
    },
    appendWithReceipts: async (entries, receipts) => {
      const stored = await inner.appendWithReceipts(entries, receipts);
      batchSizes.push(entries.length);
      return stored;
    },
    head: () => inner.head(),
    range: (from, limit) => inner.range(from, limit),
    get: (sequence) => inner.get(sequence),
    putCheckpoint: (c) => inner.putCheckpoint(c),
    latestCheckpoint: () => inner.latestCheckpoint(),
    listCheckpoints: (page) => inner.listCheckpoints(page),
    putReceipt: (r) => inner.putReceipt(r),
    getReceipts: (id) => inner.getReceipts(id),
    listReceipts: (page) => inner.listReceipts(page),
  };
}

/** Durable appends per second through AuditLog (hashing, group commit, checkpoints) on the SQLite store. */
async function auditAppendRate(path: string, total: number, batchSizes: number[]): Promise<number> {
  const stores = openSqliteStores(path);
  try {
    const key = await createKey(stores.keys, { purpose: 'federation', status: 'active', now: systemClock.now() });
    const log = await AuditLog.open({
      store: recordingStore(stores.audit, batchSizes),
      clock: systemClock,
      signer: keySigner(signingKey(key)),
      nodeId: NODE_ID,
    });
    let next = 0;
    const appender = async () => {
      while (next < total) await log.append(eventOf(next++));
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, total) }, appender));
    const seconds = (performance.now() - started) / 1000;
    await log.close();
    return total / seconds;
  } finally {
    await stores.close();
  }
}

type EntryRow = [number, number, string, string, string | null, string, string, string];

/** The rows the log committed, read back from its file (after the measured run), cut into its batches. */
function committedBatches(path: string, batchSizes: readonly number[]): EntryRow[][] {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db
      .prepare(
        'SELECT sequence, at, kind, actor, correlation_id, payload, prev_hash, hash FROM audit_entries ORDER BY sequence',
      )
      .raw()
      .all() as EntryRow[];
    const batches: EntryRow[][] = [];
    let from = 0;
    for (const size of batchSizes) {
      batches.push(rows.slice(from, from + size));
      from += size;
    }
    return batches;
  } finally {
    db.close();
  }
}

/** The baseline: the same rows, in the same transactions, inserted with raw prepared statements into a plain WAL table. */
function rawInsertRate(path: string, batches: readonly EntryRow[][]): number {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE entries (sequence INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL,
      actor TEXT NOT NULL, correlation_id TEXT, payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)`);
    const insert = db.prepare('INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const commit = db.transaction((rows: readonly EntryRow[]) => {
      for (const row of rows) insert.run(row);
    });
    let rows = 0;
    const started = performance.now();
    for (const batch of batches) {
      commit.immediate(batch);
      rows += batch.length;
    }
    return rows / ((performance.now() - started) / 1000);
  } finally {
    db.close();
  }
}

/**
 * `audit.append.rate`: durable audit appends per second (each append resolved only after
 * its transaction was fsynced), against `sqlite.wal.insert`, raw inserts of the same rows
 * in the same transactions, in the same run. Goal: at least 50 000 entries/s.
 */
export const auditAppendSuite: BenchSuite = {
  name: 'audit',
  async run(context: BenchContext) {
    const total = context.quick ? 5_000 : 200_000;
    // Warm up the JIT and the file system on a small run of each first.
    const warmPath = join(context.workDir, 'audit-warmup.db');
    const warm: number[] = [];
    await auditAppendRate(warmPath, Math.min(total, 5_000), warm);
    rawInsertRate(join(context.workDir, 'raw-warmup.db'), committedBatches(warmPath, warm));

    context.progress(`audit: ${total} durable appends, ${CONCURRENCY} appenders in flight`);
    const path = join(context.workDir, 'audit-append.db');
    const batchSizes: number[] = [];
    const value = await auditAppendRate(path, total, batchSizes);
    context.progress(`audit: baseline, the same ${total} rows in the same ${batchSizes.length} transactions`);
    const baselineValue = rawInsertRate(join(context.workDir, 'raw-insert.db'), committedBatches(path, batchSizes));
    return [
      benchResult({
        name: 'audit.append.rate',
        value,
        unit: '1/s',
        baseline: 'sqlite.wal.insert',
        baselineValue,
        goal: { on: 'value', op: '>=', target: 50_000 },
      }),
    ];
  },
};
