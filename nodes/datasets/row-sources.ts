import { createInterface } from 'node:readline';
import { pipeline, Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../common/errors/registry.js';
import type { JsonValue } from '../../common/stores/json.js';
import { CellError, type ColumnTypes, csvRowToRecord } from './csv-values.js';

/** The input formats of an import (proto `ImportFormat`). */
export const IMPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** What an import reads: a file stream, or any async source of text or bytes. */
export type ImportSource = Readable | AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;

/** One data row of the input, by its 1-based line number, parsed or with why not. */
export type SourceRow =
  | { readonly line: number; readonly value: Record<string, JsonValue> }
  | { readonly line: number; readonly reason: ErrorCode; readonly message: string };

const toReadable = (source: ImportSource): Readable =>
  source instanceof Readable ? source : Readable.from(source as AsyncIterable<string | Uint8Array>);

/** NDJSON: one JSON object per line; blank lines are skipped but counted. */
export async function* ndjsonRows(source: ImportSource): AsyncGenerator<SourceRow> {
  const lines = createInterface({ input: toReadable(source), crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of lines) {
    line++;
    // A BOM on the first line is an editor's artefact, not data.
    const body = (line === 1 ? text.replace(/^\uFEFF/, '') : text).trim();
    if (body === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (err) {
      yield { line, reason: 'MALFORMED_REQUEST', message: `not JSON: ${(err as Error).message}` };
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield { line, reason: 'MALFORMED_REQUEST', message: 'must be a JSON object' };
      continue;
    }
    yield { line, value: value as Record<string, JsonValue> };
  }
}

/** Line breaks inside a record's raw text, without its own terminator. */
function breaksIn(raw: string): number {
  return raw.replace(/(\r\n|\r|\n)$/, '').match(/\r\n|\r|\n/g)?.length ?? 0;
}

function checkHeader(header: readonly string[]): readonly string[] {
  const names = header.map((name) => name.trim());
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (name === '')
      throw new MeshError('MALFORMED_REQUEST', `CSV header: column ${i + 1} has no name`, {
        details: { line: 1, rule: 'header' },
      });
    if (seen.has(name))
      throw new MeshError('MALFORMED_REQUEST', `CSV header: column "${name}" appears twice`, {
        details: { line: 1, rule: 'header' },
      });
    seen.add(name);
  });
  return names;
}

/**
 * RFC 4180 CSV with a header on line 1 naming the columns; cells become the JSON types
 * the record schema gives their columns. Line numbers are counted here from each record's
 * raw text: csv-parse's own count drifts on CRLF files with quoted line breaks.
 *
 * @throws MeshError `MALFORMED_REQUEST` for a missing, blank or duplicated header name
 */
export async function* csvRows(
  source: ImportSource,
  types: ReadonlyMap<string, ColumnTypes>,
): AsyncGenerator<SourceRow> {
  // pipeline, not pipe: a source that fails (a cancelled upload) must fail the parse too,
  // or the loop below would wait forever for rows that never come.
  const parser = pipeline(
    toReadable(source),
    parseCsv({ bom: true, raw: true, relax_column_count: true, skip_empty_lines: false }),
    () => {},
  );
  let header: readonly string[] | undefined;
  let next = 1;
  try {
    for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
      const line = next;
      next += 1 + breaksIn(raw);
      if (record.length === 1 && record[0] === '' && header !== undefined) continue;
      if (header === undefined) {
        header = checkHeader(record);
        continue;
      }
      if (record.length !== header.length) {
        yield {
          line,
          reason: 'MALFORMED_REQUEST',
          message: `has ${record.length} cell(s), the header has ${header.length}`,
        };
        continue;
      }
      try {
        yield { line, value: csvRowToRecord(header, record, types) };
      } catch (err) {
        if (!(err instanceof CellError)) throw err;
        yield { line, reason: 'SCHEMA_VIOLATION', message: err.message };
      }
    }
  } catch (err) {
    const csv = err as { code?: string; lines?: number; message: string };
    if (typeof csv.code !== 'string' || !csv.code.startsWith('CSV_')) throw err;
    // The parser cannot resynchronise after a broken quote: the rest of the file is unread.
    yield { line: csv.lines ?? next, reason: 'MALFORMED_REQUEST', message: `CSV syntax: ${csv.message}` };
    return;
  }
  if (header === undefined)
    throw new MeshError('MALFORMED_REQUEST', 'the CSV input is empty: line 1 must be the header', {
      details: { line: 1, rule: 'header' },
    });
}

const EXTENSIONS: Readonly<Record<string, ImportFormat>> = { '.csv': 'csv', '.ndjson': 'ndjson', '.jsonl': 'ndjson' };

/**
 * The format a file name implies (`.csv`; `.ndjson` or `.jsonl`).
 *
 * @throws MeshError `MALFORMED_REQUEST` for any other extension
 */
export function importFormatOf(fileName: string): ImportFormat {
  const dot = fileName.lastIndexOf('.');
  const extension = dot === -1 ? '' : fileName.slice(dot).toLowerCase();
  const format = EXTENSIONS[extension];
  if (format === undefined)
    throw new MeshError(
      'MALFORMED_REQUEST',
      `cannot tell the format of ${fileName} from its extension: use .csv, .ndjson or .jsonl, or give the format`,
      { details: { field: 'format' } },
    );
  return format;
}
