import { createHash } from 'node:crypto';
import { canonicalize } from '../../common/canonical-json.js';
import type { Clock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../common/errors/registry.js';
import type { CatalogStore } from '../../common/stores/catalog-store.js';
import type { JsonValue } from '../../common/stores/json.js';
import type { NewRecord, RecordStore } from '../../common/stores/record-store.js';
import { columnTypesOf } from './csv-values.js';
import { type RecordSchemaCache, recordSchemas } from './record-schema.js';
import { type NodeCity, resolveOwnDataset } from './resolve-dataset.js';
import {
  csvRows,
  IMPORT_FORMATS,
  type ImportFormat,
  type ImportSource,
  ndjsonRows,
  type SourceRow,
} from './row-sources.js';

/** Record ids as the protocol defines them (`Record.record_id`). */
export const RECORD_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** How many bad rows a report lists by default (the protocol's `bad_lines` cap). */
export const DEFAULT_MAX_BAD_ROWS = 1000;

/** The components an import works on. */
export interface ImportComponents {
  readonly catalog: CatalogStore;
  readonly records: RecordStore;
  readonly clock: Clock;
  /** Compiled schemas; the process-wide cache by default. */
  readonly schemas?: RecordSchemaCache;
}

/** A row that was rejected, with the reason code and what is wrong (proto `BadLine`). */
export interface BadRow {
  readonly line: number;
  readonly reason: ErrorCode;
  readonly message: string;
}

/** Where a running import is. */
export interface ImportProgress {
  readonly rows: number;
  readonly rejected: number;
  readonly elapsedMs: number;
  readonly rowsPerSecond: number;
  readonly done: boolean;
}

/** Options of {@link importRecords}. */
export interface ImportOptions {
  /** The node's own cluster and city: only their datasets may be imported. */
  readonly node: NodeCity;
  /** `<cluster>/<city>/<org>/<name>[@version]`; without a version, the latest live one's schema applies. */
  readonly datasetId: string;
  readonly format: ImportFormat;
  readonly source: ImportSource;
  /**
   * Field (NDJSON) or column (CSV) holding each row's record id. With it a re-import is
   * idempotent: a row whose id is stored with the same content is counted unchanged.
   */
  readonly idField?: string;
  /** Bad rows listed in the report (all are counted); default {@link DEFAULT_MAX_BAD_ROWS}. */
  readonly maxBadRows?: number;
  readonly onProgress?: (progress: ImportProgress) => void;
  /** Rows between progress calls; default 10 000. */
  readonly progressEveryRows?: number;
}

/** What an import did. */
export interface ImportReport {
  /** The id the records are stored under (no version). */
  readonly datasetId: string;
  /** The catalog version whose schema checked the rows. */
  readonly version: string;
  /** True when every row was good and the new ones were written; false when nothing was written. */
  readonly imported: boolean;
  /** Data rows read (blank lines and the CSV header excluded). */
  readonly rows: number;
  /** Rows written as new records (0 when `imported` is false). */
  readonly accepted: number;
  /** Rows whose record id is already stored with the same content. */
  readonly unchanged: number;
  readonly rejected: number;
  /** The first `maxBadRows` rejected rows, by line. */
  readonly badRows: readonly BadRow[];
  readonly firstSequence?: number;
  readonly lastSequence?: number;
  readonly durationMs: number;
}

const digest = (json: string) => createHash('sha256').update(json).digest('base64');

/** Record id → digest of the stored content, for the idempotent re-import check. */
async function storedDigests(records: RecordStore, datasetId: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let after: number | undefined = 0;
  while (after !== undefined) {
    const page = await records.page(datasetId, { afterSequence: after, limit: 1000 });
    for (const r of page.items) if (r.recordId !== undefined) out.set(r.recordId, digest(r.json));
    after = page.nextAfterSequence;
  }
  return out;
}

function recordIdOf(value: Record<string, JsonValue>, field: string): { id: string } | { error: string } {
  const raw = value[field];
  if (raw === undefined) return { error: `missing record id field "${field}"` };
  // CSV cells of an integer-typed id column arrive as numbers.
  const id = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw;
  if (typeof id !== 'string' || !RECORD_ID_PATTERN.test(id))
    return { error: `record id field "${field}" must be 1-128 characters of A-Z a-z 0-9 . _ : -` };
  return { id };
}

/**
 * Imports rows of CSV or NDJSON into a dataset of this node, all or nothing: every row is
 * parsed and checked against the dataset's record schema first; when any row is bad the
 * report lists them (line and reason) and nothing is written. Otherwise the new rows are
 * appended in one store transaction, so a crash leaves all of them or none.
 *
 * @throws MeshError for what makes the whole import impossible: `MALFORMED_REQUEST`
 *   (unknown format, bad CSV header, another city's dataset), `DATASET_NOT_FOUND`,
 *   `SCHEMA_VIOLATION` (the stored schema does not compile), `ALREADY_EXISTS` (a
 *   concurrent import stored one of the record ids first)
 */
export async function importRecords(components: ImportComponents, options: ImportOptions): Promise<ImportReport> {
  const { catalog, records, clock } = components;
  if (!(IMPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new MeshError('MALFORMED_REQUEST', `format "${options.format}" is not one of ${IMPORT_FORMATS.join(', ')}`, {
      details: { field: 'format' },
    });
  }
  const { entry } = await resolveOwnDataset(catalog, options.node, options.datasetId);
  const validator = (components.schemas ?? recordSchemas).get(entry);
  const maxBad = options.maxBadRows ?? DEFAULT_MAX_BAD_ROWS;
  const every = Math.max(1, options.progressEveryRows ?? 10_000);
  const idField = options.idField;
  const stored = idField === undefined ? new Map<string, string>() : await storedDigests(records, entry.id);
  const firstLineOf = new Map<string, number>();

  const started = clock.nowMs();
  const batch: NewRecord[] = [];
  const badRows: BadRow[] = [];
  let rows = 0;
  let rejected = 0;
  let unchanged = 0;
  const progress = (done: boolean) => {
    const elapsedMs = clock.nowMs() - started;
    const rowsPerSecond = elapsedMs > 0 ? Math.round((rows * 1000) / elapsedMs) : rows;
    options.onProgress?.({ rows, rejected, elapsedMs, rowsPerSecond, done });
  };
  const reject = (line: number, reason: ErrorCode, message: string) => {
    rejected++;
    if (badRows.length < maxBad) badRows.push({ line, reason, message });
  };

  const source: AsyncIterable<SourceRow> =
    options.format === 'csv' ? csvRows(options.source, columnTypesOf(entry.schema)) : ndjsonRows(options.source);
  for await (const row of source) {
    rows++;
    if (rows % every === 0) progress(false);
    if ('reason' in row) {
      reject(row.line, row.reason, row.message);
      continue;
    }
    const why = validator.check(row.value);
    if (why !== undefined) {
      reject(row.line, 'SCHEMA_VIOLATION', why);
      continue;
    }
    const json = canonicalize(row.value);
    if (idField === undefined) {
      batch.push({ json });
      continue;
    }
    const found = recordIdOf(row.value, idField);
    if ('error' in found) {
      reject(row.line, 'MALFORMED_REQUEST', found.error);
      continue;
    }
    const recordId = found.id;
    const earlier = firstLineOf.get(recordId);
    if (earlier !== undefined) {
      reject(row.line, 'ALREADY_EXISTS', `record id "${recordId}" already appears on line ${earlier}`);
      continue;
    }
    firstLineOf.set(recordId, row.line);
    const storedDigest = stored.get(recordId);
    if (storedDigest === undefined) batch.push({ recordId, json });
    else if (storedDigest === digest(json)) unchanged++;
    else
      reject(
        row.line,
        'ALREADY_EXISTS',
        `record id "${recordId}" is already stored with different content (records are append-only: use a new id)`,
      );
  }

  const base = { datasetId: entry.id, version: entry.version, rows, unchanged, rejected, badRows };
  if (rejected > 0 || batch.length === 0) {
    progress(true);
    return { ...base, imported: rejected === 0, accepted: 0, durationMs: clock.nowMs() - started };
  }
  const { firstSequence, lastSequence } = await records.appendBatch(entry.id, batch, clock.now());
  progress(true);
  return {
    ...base,
    imported: true,
    accepted: batch.length,
    firstSequence,
    lastSequence,
    durationMs: clock.nowMs() - started,
  };
}
