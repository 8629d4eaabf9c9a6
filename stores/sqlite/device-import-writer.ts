import type {
  Device,
  ImportCheckpoint,
  ImportConflict,
  ImportProgress,
  ImportResult,
} from '../../common/stores/device-store.js';
import {
  attributesColumn,
  credentialsColumn,
  PACKED_REFS,
  type PackedDevices,
} from '../../common/stores/packed-devices.js';
import { advanceCheckpoint } from '../shared/device-rules.js';
import { fromMs, toMs } from './columns.js';
import type { SqliteDatabase } from './database.js';

type CheckpointRow = {
  job_id: string;
  source: string;
  source_sha256: string;
  lines_done: number;
  inserted: number;
  unchanged: number;
  rejected: number;
  updated_at: number;
};

function checkpointFromRow(row: CheckpointRow): ImportCheckpoint {
  return {
    jobId: row.job_id,
    source: row.source,
    sourceSha256: row.source_sha256,
    linesDone: row.lines_done,
    inserted: row.inserted,
    unchanged: row.unchanged,
    rejected: row.rejected,
    updatedAt: fromMs(row.updated_at),
  };
}

function checkpointToRow(checkpoint: ImportCheckpoint): CheckpointRow {
  return {
    job_id: checkpoint.jobId,
    source: checkpoint.source,
    source_sha256: checkpoint.sourceSha256,
    lines_done: checkpoint.linesDone,
    inserted: checkpoint.inserted,
    unchanged: checkpoint.unchanged,
    rejected: checkpoint.rejected,
    updated_at: toMs(checkpoint.updatedAt),
  };
}

/** Insert parameters, in this order; positional, so a row is an array reused for the whole batch. */
const INSERT_COLUMNS =
  'city, device_id, type, industry, region_code, owner_org, status, credentials, attributes, created_at, updated_at';
/** What an existing device is compared on, with the names the conflict reason gives them. */
const COMPARED: readonly (readonly [number, string])[] = [
  [2, 'type'],
  [3, 'industry'],
  [4, 'regionCode'],
  [5, 'ownerOrg'],
  [6, 'status'],
  [7, 'credentials'],
  [8, 'attributes'],
];

/** Fills `row` (the insert parameters) with the `i`th device of the batch. */
type RowFiller = (i: number, row: unknown[]) => void;

/**
 * Device import batches and job checkpoints on SQLite. Column text is canonical (sorted
 * keys, dates as milliseconds), so a device already stored is compared column by column:
 * equal text is equal content, whatever the key order or spelling it came in.
 */
export class DeviceImportWriter {
  readonly #insert;
  readonly #stored;
  readonly #selectCheckpoint;
  readonly #upsertCheckpoint;
  readonly #batch;

  constructor(db: SqliteDatabase) {
    this.#insert = db.prepare(
      `INSERT INTO devices (${INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (city, device_id) DO NOTHING`,
    );
    this.#stored = db.prepare(`SELECT ${INSERT_COLUMNS} FROM devices WHERE city = ? AND device_id = ?`).raw();
    this.#selectCheckpoint = db.prepare<[string], CheckpointRow>(
      'SELECT * FROM device_import_checkpoints WHERE job_id = ?',
    );
    this.#upsertCheckpoint = db.prepare<[CheckpointRow]>(
      `INSERT INTO device_import_checkpoints (job_id, source, source_sha256, lines_done, inserted, unchanged, rejected, updated_at)
       VALUES (@job_id, @source, @source_sha256, @lines_done, @inserted, @unchanged, @rejected, @updated_at)
       ON CONFLICT (job_id) DO UPDATE SET source = excluded.source, source_sha256 = excluded.source_sha256,
         lines_done = excluded.lines_done, inserted = excluded.inserted, unchanged = excluded.unchanged,
         rejected = excluded.rejected, updated_at = excluded.updated_at`,
    );
    // The batch and its checkpoint commit together: after kill -9 either both are in the
    // file or neither is, so a resume from the checkpoint neither skips nor repeats lines.
    this.#batch = db.transaction((count: number, fill: RowFiller, progress: ImportProgress | undefined) => {
      let inserted = 0;
      let unchanged = 0;
      const conflicts: ImportConflict[] = [];
      const row: unknown[] = new Array(11);
      for (let i = 0; i < count; i++) {
        fill(i, row);
        if (this.#insert.run(row).changes === 1) {
          inserted++;
          continue;
        }
        const differences = this.#differences(row);
        if (differences.length === 0) unchanged++;
        else conflicts.push({ deviceId: row[1] as string, reason: `differs in: ${differences.join(', ')}` });
      }
      if (progress === undefined) return { inserted, unchanged, conflicts };
      const previous = this.#selectCheckpoint.get(progress.jobId);
      const checkpoint = advanceCheckpoint(previous === undefined ? undefined : checkpointFromRow(previous), progress, {
        inserted,
        unchanged,
        conflicts: conflicts.length,
      });
      this.#upsertCheckpoint.run(checkpointToRow(checkpoint));
      return { inserted, unchanged, conflicts, checkpoint };
    });
  }

  /** Devices already validated by the store (`checkDevice`), with their own status and timestamps. */
  importDevices(devices: readonly Device[], progress: ImportProgress | undefined): ImportResult {
    const fill: RowFiller = (i, row) => {
      const d = devices[i] as Device;
      row[0] = d.city;
      row[1] = d.deviceId;
      row[2] = d.type;
      row[3] = d.industry;
      row[4] = d.regionCode;
      row[5] = d.ownerOrg;
      row[6] = d.status;
      row[7] = credentialsColumn(d.credentials);
      row[8] = attributesColumn(d.attributes);
      row[9] = toMs(d.createdAt);
      row[10] = toMs(d.updatedAt);
    };
    // IMMEDIATE: take the write lock up front, so the checkpoint read cannot go stale.
    return this.#batch.immediate(devices.length, fill, progress);
  }

  /** A checked batch: active devices of one city, created at `progress.at`. */
  importPacked(packed: PackedDevices, progress: ImportProgress): ImportResult {
    const { city, texts, refs, words } = packed;
    const at = toMs(progress.at);
    const fill: RowFiller = (i, row) => {
      const k = i * PACKED_REFS;
      const attributes = refs[k + 4] as number;
      row[0] = city;
      row[1] = texts[2 * i];
      row[2] = words[refs[k] as number];
      row[3] = words[refs[k + 1] as number];
      row[4] = words[refs[k + 2] as number];
      row[5] = words[refs[k + 3] as number];
      row[6] = 'active';
      row[7] = texts[2 * i + 1];
      row[8] = attributes < 0 ? null : words[attributes];
      row[9] = at;
      row[10] = at;
    };
    return this.#batch.immediate(texts.length / 2, fill, progress);
  }

  getCheckpoint(jobId: string): ImportCheckpoint | undefined {
    const row = this.#selectCheckpoint.get(jobId);
    return row === undefined ? undefined : checkpointFromRow(row);
  }

  /** Creates or replaces a checkpoint the caller validated. */
  saveCheckpoint(checkpoint: ImportCheckpoint): void {
    this.#upsertCheckpoint.run(checkpointToRow(checkpoint));
  }

  /** Fields in which the stored device differs from `row`, ignoring timestamps; absent and `{}` attributes are equal. */
  #differences(row: readonly unknown[]): string[] {
    const stored = this.#stored.get(row[0], row[1]) as unknown[];
    const out: string[] = [];
    for (const [column, field] of COMPARED) {
      const a = stored[column] ?? '{}';
      const b = row[column] ?? '{}';
      if (a !== b) out.push(field);
    }
    return out;
  }
}
