import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { MeshError } from '../../../common/errors/mesh-error.js';

/** Manifest formats: one JSON object per line, or CSV with a header row. */
export const MANIFEST_FORMATS = ['ndjson', 'csv'] as const;
export type ManifestFormat = (typeof MANIFEST_FORMATS)[number];

/** What a first pass over the manifest learns: its digest and its size in lines. */
export interface ManifestFacts {
  /** Hex SHA-256 of the bytes: a resumed job must read the very same file. */
  readonly sha256: string;
  /** Physical lines; a last line without a line break counts. */
  readonly lines: number;
  readonly bytes: number;
}

const LF = 0x0a;

/**
 * Hashes the manifest and counts its lines in one streaming pass, so an import can give a
 * percentage and an ETA and bind its checkpoint to the file before writing anything.
 */
export async function scanManifest(path: string): Promise<ManifestFacts> {
  const hash = createHash('sha256');
  let lines = 0;
  let bytes = 0;
  let last = LF;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) lines++;
    last = chunk[chunk.length - 1] ?? last;
  }
  if (bytes > 0 && last !== LF) lines++;
  return { sha256: hash.digest('hex'), lines, bytes };
}

/**
 * The job id a manifest gets when the operator names none: the same file at the same
 * path is the same job, so running the same command again after a crash resumes it.
 */
export function defaultJobId(source: string, sha256: string): string {
  return `devices-${createHash('sha256').update(`${source}\n${sha256}`).digest('hex').slice(0, 24)}`;
}

/**
 * The format a file name implies: `.csv`; `.ndjson` or `.jsonl`.
 *
 * @throws MeshError `MALFORMED_REQUEST` for any other extension
 */
export function manifestFormatOf(path: string): ManifestFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.ndjson') || lower.endsWith('.jsonl')) return 'ndjson';
  throw new MeshError(
    'MALFORMED_REQUEST',
    `cannot tell the format of ${path} from its extension: use .csv, .ndjson or .jsonl, or pass --format`,
    { details: { field: 'format' } },
  );
}
