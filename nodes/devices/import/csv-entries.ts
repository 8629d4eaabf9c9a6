import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { DeviceFault } from '../registry/device-fault.js';
import type { ManifestEntry } from './ndjson-entries.js';

/** Columns every CSV manifest has. */
export const CSV_REQUIRED_COLUMNS: readonly string[] = ['deviceId', 'type', 'industry', 'regionCode', 'ownerOrg'];
/** Columns of the one credential a CSV line may carry: all four, or none of them. */
export const CSV_CREDENTIAL_COLUMNS: readonly string[] = ['credentialId', 'publicJwk', 'notBefore', 'notAfter'];
/** Attribute columns are named `attributes.<name>`; an empty cell means the device lacks it. */
export const CSV_ATTRIBUTE_PREFIX = 'attributes.';

/** Where each column sits, from the header row. */
interface Layout {
  readonly width: number;
  readonly required: readonly number[];
  readonly credential: readonly number[] | undefined;
  readonly attributes: readonly (readonly [string, number])[];
}

function headerError(message: string): MeshError {
  return new MeshError('MALFORMED_REQUEST', `CSV header (line 1): ${message}`, {
    details: { line: 1, field: 'header' },
  });
}

/** Refuses unknown, duplicate and missing columns before any line is read: a header is the whole file's contract. */
function layoutOf(header: readonly string[]): Layout {
  const names = header.map((name) => name.trim());
  const index = new Map<string, number>();
  names.forEach((name, i) => {
    if (index.has(name)) throw headerError(`column "${name}" appears twice`);
    const known =
      CSV_REQUIRED_COLUMNS.includes(name) ||
      CSV_CREDENTIAL_COLUMNS.includes(name) ||
      (name.startsWith(CSV_ATTRIBUTE_PREFIX) && name.length > CSV_ATTRIBUTE_PREFIX.length);
    if (!known) {
      throw headerError(
        `unknown column "${name}"; columns are ${[...CSV_REQUIRED_COLUMNS, ...CSV_CREDENTIAL_COLUMNS].join(', ')} and ${CSV_ATTRIBUTE_PREFIX}<name>`,
      );
    }
    index.set(name, i);
  });
  const missing = CSV_REQUIRED_COLUMNS.filter((name) => !index.has(name));
  if (missing.length > 0) throw headerError(`missing column(s) ${missing.join(', ')}`);
  const credentialColumns = CSV_CREDENTIAL_COLUMNS.filter((name) => index.has(name));
  if (credentialColumns.length !== 0 && credentialColumns.length !== CSV_CREDENTIAL_COLUMNS.length) {
    throw headerError(`a credential needs all of ${CSV_CREDENTIAL_COLUMNS.join(', ')}`);
  }
  return {
    width: names.length,
    required: CSV_REQUIRED_COLUMNS.map((name) => index.get(name) as number),
    credential: credentialColumns.length === 0 ? undefined : CSV_CREDENTIAL_COLUMNS.map((n) => index.get(n) as number),
    attributes: names.flatMap((name, i) =>
      name.startsWith(CSV_ATTRIBUTE_PREFIX) ? [[name.slice(CSV_ATTRIBUTE_PREFIX.length), i] as const] : [],
    ),
  };
}

/** A CSV record as the device description a manifest line in NDJSON would give. */
function describe(layout: Layout, cells: readonly string[]): Record<string, unknown> | DeviceFault {
  const value: Record<string, unknown> = {};
  CSV_REQUIRED_COLUMNS.forEach((name, k) => {
    value[name] = cells[layout.required[k] as number];
  });
  if (layout.credential !== undefined) {
    const [id, jwk, from, to] = layout.credential.map((i) => cells[i] ?? '') as [string, string, string, string];
    if (id !== '' || jwk !== '' || from !== '' || to !== '') {
      const empty = CSV_CREDENTIAL_COLUMNS.find((_, k) => [id, jwk, from, to][k] === '');
      if (empty !== undefined) {
        return new DeviceFault(empty, 'MALFORMED_REQUEST', `${empty} is empty; a credential needs all four columns`);
      }
      let publicJwk: unknown;
      try {
        publicJwk = JSON.parse(jwk);
      } catch {
        return new DeviceFault('publicJwk', 'MALFORMED_REQUEST', 'publicJwk must be a JWK as JSON text');
      }
      value.credentials = [{ credentialId: id, kind: 'jwk', publicJwk, notBefore: from, notAfter: to }];
    }
  }
  if (layout.attributes.length > 0) {
    const attributes: Record<string, string> = {};
    for (const [name, i] of layout.attributes) {
      const cell = cells[i];
      if (cell !== undefined && cell !== '') attributes[name] = cell;
    }
    value.attributes = attributes;
  }
  return value;
}

/**
 * Line breaks inside a record (LF only, as {@link scanManifest} counts lines), without its
 * terminator: csv-parse's `raw` keeps a CRLF record's `\r` but not its `\n`, an LF
 * record's `\n`, and nothing after the last record.
 */
function breaksIn(raw: string): number {
  const end = raw.endsWith('\n') ? raw.length - 1 : raw.length;
  let n = 0;
  for (let i = raw.indexOf('\n'); i !== -1 && i < end; i = raw.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * The records of a CSV manifest (RFC 4180, header on line 1) from line `skipLines + 1`
 * on, in chunks. Line numbers come from each record's raw text. Blank lines are skipped.
 *
 * @throws MeshError `MALFORMED_REQUEST` for a bad header, and for broken CSV syntax (an
 *   unclosed quote), after which the parser cannot find the next record
 */
export async function* csvEntries(path: string, skipLines = 0): AsyncGenerator<readonly ManifestEntry[]> {
  // pipeline, so a read error fails the parse instead of leaving the loop waiting.
  const parser = pipeline(
    createReadStream(path, { highWaterMark: 1 << 20 }),
    parseCsv({ bom: true, raw: true, relax_column_count: true, skip_empty_lines: false }),
    () => {},
  );
  let layout: Layout | undefined;
  let next = 1;
  let out: ManifestEntry[] = [];
  try {
    for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
      const line = next;
      const lastLine = line + breaksIn(raw);
      next = lastLine + 1;
      if (layout === undefined) {
        layout = layoutOf(record);
        continue;
      }
      if (lastLine <= skipLines || (record.length === 1 && record[0] === '')) continue;
      if (record.length !== layout.width) {
        const message = `the line has ${record.length} cell(s), the header ${layout.width}`;
        out.push({ line, lastLine, value: undefined, fault: new DeviceFault('', 'MALFORMED_REQUEST', message) });
      } else {
        const value = describe(layout, record);
        out.push(
          value instanceof DeviceFault
            ? { line, lastLine, value: undefined, fault: value }
            : { line, lastLine, value, fault: undefined },
        );
      }
      if (out.length >= 256) {
        yield out;
        out = [];
      }
    }
  } catch (err) {
    const csv = err as { code?: unknown; lines?: unknown; message: string };
    if (typeof csv.code !== 'string' || !csv.code.startsWith('CSV_')) throw err;
    throw new MeshError('MALFORMED_REQUEST', `CSV syntax near line ${next}: ${csv.message}`, {
      details: { line: next, field: 'file' },
    });
  }
  if (out.length > 0) yield out;
  if (layout === undefined) throw headerError('the file is empty; line 1 must name the columns');
}
