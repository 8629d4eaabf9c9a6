import { resolve } from 'node:path';
import type { Clock } from '../../../common/clock.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../../common/errors/registry.js';
import type { Device, DeviceStore, ImportCheckpoint } from '../../../common/stores/device-store.js';
import type { DeviceChecker } from '../registry/device-checker.js';
import { DeviceFault } from '../registry/device-fault.js';
import { csvEntries } from './csv-entries.js';
import { defaultJobId, type ManifestFormat, manifestFormatOf, scanManifest } from './manifest-file.js';
import { type ManifestEntry, ndjsonEntries } from './ndjson-entries.js';

export const DEFAULT_IMPORT_BATCH = 10_000;
export const DEFAULT_LISTED_REJECTS = 100;

export interface DeviceImportDeps {
  readonly store: DeviceStore;
  /** The rules of the node's city; its `city` is the city of every imported device. */
  readonly checker: DeviceChecker;
  readonly clock: Clock;
}

export interface DeviceImportOptions {
  readonly file: string;
  /** Default: from the file's extension. */
  readonly format?: ManifestFormat;
  /** Default: derived from the file's absolute path and SHA-256 ({@link defaultJobId}). */
  readonly jobId?: string;
  /** Lines per transaction (devices plus rejected lines); default {@link DEFAULT_IMPORT_BATCH}. */
  readonly batchSize?: number;
  /** Rejected lines kept in the report; the others are counted. Default {@link DEFAULT_LISTED_REJECTS}. */
  readonly listRejects?: number;
  /** Every rejected line of this run, in line order, once its batch has committed. */
  readonly onReject?: (reject: RejectedLine) => void;
  /** What the job is about to do, before the first line is read. */
  readonly onStart?: (start: DeviceImportStart) => void;
  /** After every committed batch. */
  readonly onProgress?: (progress: DeviceImportProgress) => void;
}

/** A line that was not imported: invalid, or a device registered with other content. */
export interface RejectedLine {
  readonly line: number;
  readonly deviceId?: string;
  readonly field: string;
  readonly code: ErrorCode;
  readonly message: string;
}

export interface DeviceImportStart {
  readonly jobId: string;
  readonly source: string;
  readonly sourceSha256: string;
  readonly format: ManifestFormat;
  readonly totalLines: number;
  /** Lines an interrupted run of the job had already committed (0 for a fresh job). */
  readonly resumedFromLine: number;
  /** When the job had completed before: its totals then. This run starts it over. */
  readonly previousRun?: ImportCheckpoint;
}

/** Where the job stands: totals over the whole job, exact across crashes. */
export interface DeviceImportProgress {
  readonly jobId: string;
  readonly totalLines: number;
  readonly linesDone: number;
  /** `linesDone` when this run started, so that rate and ETA count this run only. */
  readonly startLine: number;
  readonly inserted: number;
  readonly unchanged: number;
  readonly rejected: number;
  readonly elapsedMs: number;
}

export interface DeviceImportReport extends DeviceImportStart, DeviceImportProgress {
  /** Of `rejected`: lines this run found invalid, and devices it found registered differently. */
  readonly invalid: number;
  readonly conflicts: number;
  /** The first rejected lines of this run. */
  readonly rejects: readonly RejectedLine[];
}

const deviceIdIn = (value: unknown): string | undefined => {
  const id = (value as { deviceId?: unknown } | null)?.deviceId;
  return typeof id === 'string' ? id.slice(0, 128) : undefined;
};

function rejectOf(line: number, fault: DeviceFault, deviceId: string | undefined): RejectedLine {
  const base = { line, field: fault.field, code: fault.code, message: fault.message };
  return deviceId === undefined ? base : { ...base, deviceId };
}

/**
 * Imports a device manifest (NDJSON or CSV) into the store: a streaming parse, every line
 * checked, good lines written in batches, each batch with the job's checkpoint in one
 * transaction. After a crash the same call resumes after the last committed line, and the
 * totals stay exact. Bad lines are reported and skipped; a device already registered with
 * the same content counts as unchanged, with other content as a conflict (never overwritten).
 * Within a batch a device id appears once: a repeat closes the batch, so each conflict is
 * pinned to its line.
 *
 * @throws MeshError `MALFORMED_REQUEST` for another manifest under the job's id, a bad CSV
 *   header or broken CSV syntax (lines before it stay imported), a file that changed while
 *   read; `VERSION_CONFLICT` when another import of the same job ran at the same time
 */
export async function importDevices(deps: DeviceImportDeps, options: DeviceImportOptions): Promise<DeviceImportReport> {
  const { store, checker, clock } = deps;
  const started = performance.now();
  const source = resolve(options.file);
  const format = options.format ?? manifestFormatOf(source);
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_IMPORT_BATCH);
  const listRejects = Math.max(0, options.listRejects ?? DEFAULT_LISTED_REJECTS);
  const facts = await scanManifest(source);
  const jobId = options.jobId ?? defaultJobId(source, facts.sha256);
  const sourceSha256 = facts.sha256;

  let previous = await store.getImportCheckpoint(jobId);
  if (previous !== undefined && (previous.source !== source || previous.sourceSha256 !== sourceSha256)) {
    throw new MeshError(
      'MALFORMED_REQUEST',
      `import job ${jobId} was started from ${previous.source} (SHA-256 ${previous.sourceSha256.slice(0, 12)}…), not this file: pass another --job`,
      { details: { field: 'job', jobId } },
    );
  }
  let previousRun: ImportCheckpoint | undefined;
  if (previous !== undefined && facts.lines > 0 && previous.linesDone >= facts.lines) {
    // A finished job run again is a new pass over the same file: every device counts as
    // unchanged, which is how an operator checks that a manifest is fully registered.
    previousRun = previous;
    previous = { ...previous, linesDone: 0, inserted: 0, unchanged: 0, rejected: 0, updatedAt: clock.now() };
    await store.saveImportCheckpoint(previous);
  }
  const startLine = previous?.linesDone ?? 0;
  const start: DeviceImportStart = {
    jobId,
    source,
    sourceSha256,
    format,
    totalLines: facts.lines,
    resumedFromLine: startLine,
    ...(previousRun === undefined ? {} : { previousRun }),
  };
  options.onStart?.(start);

  let totals = {
    inserted: previous?.inserted ?? 0,
    unchanged: previous?.unchanged ?? 0,
    rejected: previous?.rejected ?? 0,
  };
  let committed = startLine;
  let invalid = 0;
  let conflicts = 0;
  const listed: RejectedLine[] = [];
  let devices: Device[] = [];
  let pending: RejectedLine[] = [];
  const lineOf = new Map<string, number>();
  let batchAt: Date | undefined;

  const progress = (): DeviceImportProgress => ({
    jobId,
    totalLines: facts.lines,
    linesDone: committed,
    startLine,
    ...totals,
    elapsedMs: performance.now() - started,
  });

  const flush = async (upTo: number): Promise<void> => {
    const at = batchAt ?? clock.now();
    const lines = upTo - committed;
    const result = await store.importBatch(devices, {
      jobId,
      source,
      sourceSha256,
      lines,
      rejected: pending.length,
      at,
    });
    const checkpoint = result.checkpoint as ImportCheckpoint;
    if (checkpoint.linesDone !== upTo) {
      throw new MeshError(
        'VERSION_CONFLICT',
        `import job ${jobId} was advanced by another import running at the same time`,
        {
          details: { jobId, expected: upTo, found: checkpoint.linesDone },
        },
      );
    }
    committed = upTo;
    totals = { inserted: checkpoint.inserted, unchanged: checkpoint.unchanged, rejected: checkpoint.rejected };
    invalid += pending.length;
    conflicts += result.conflicts.length;
    for (const conflict of result.conflicts) {
      pending.push({
        line: lineOf.get(conflict.deviceId) ?? 0,
        deviceId: conflict.deviceId,
        field: 'deviceId',
        code: 'ALREADY_EXISTS',
        message: `device ${conflict.deviceId} is registered with other content (${conflict.reason}); it was left as it is`,
      });
    }
    if (result.conflicts.length > 0) pending.sort((a, b) => a.line - b.line);
    for (const reject of pending) {
      if (listed.length < listRejects) listed.push(reject);
      options.onReject?.(reject);
    }
    devices = [];
    pending = [];
    lineOf.clear();
    batchAt = undefined;
    options.onProgress?.(progress());
  };

  const entries = format === 'csv' ? csvEntries(source, startLine) : ndjsonEntries(source, startLine);
  for await (const chunk of entries as AsyncIterable<readonly ManifestEntry[]>) {
    for (const entry of chunk) {
      if (entry.lastLine > facts.lines) throw changedWhileRead(source);
      batchAt ??= clock.now();
      const checked = entry.fault ?? checker.check(entry.value, batchAt);
      if (checked instanceof DeviceFault) {
        pending.push(rejectOf(entry.line, checked, deviceIdIn(entry.value)));
      } else {
        if (lineOf.has(checked.deviceId)) await flush(entry.line - 1);
        lineOf.set(checked.deviceId, entry.line);
        devices.push(checked);
      }
      if (devices.length + pending.length >= batchSize) await flush(entry.lastLine);
    }
  }
  // The last batch also covers trailing blank lines, so a finished job has linesDone = totalLines.
  if (committed < facts.lines || devices.length + pending.length > 0) await flush(facts.lines);
  return { ...start, ...progress(), invalid, conflicts, rejects: listed };
}

function changedWhileRead(source: string): MeshError {
  return new MeshError('MALFORMED_REQUEST', `${source} changed while it was imported; import it again`, {
    details: { field: 'file' },
  });
}
