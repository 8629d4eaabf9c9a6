import { resolve } from 'node:path';
import type { Clock } from '../../../common/clock.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../../common/errors/registry.js';
import type { DeviceStore, ImportCheckpoint } from '../../../common/stores/device-store.js';
import { packedDeviceId } from '../../../common/stores/packed-devices.js';
import type { DeviceChecker } from '../registry/device-checker.js';
import { type BatchPlan, type CheckedBatch, checkedBatches } from './checked-batches.js';
import { defaultJobId, type ManifestFormat, manifestFormatOf, scanManifest } from './manifest-file.js';
import { importWorkerAvailable, workerBatches } from './worker-batches.js';

/**
 * Lines per transaction. Each commit rewrites the index pages it touched (one per industry,
 * type, region and status) and syncs: measured on a million devices, 25k-line batches take
 * about a fifth less SQLite time than 10k ones, while a batch holds the write lock for
 * about half a second on an idle machine, well inside other writers' 5 s busy timeout.
 */
export const DEFAULT_IMPORT_BATCH = 25_000;
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
  /**
   * Parse and check lines in a worker thread while this one writes (default true). Used
   * when the checker can be rebuilt in a thread (`DeviceChecker.threadInit`) and the code
   * runs compiled; otherwise all runs here.
   */
  readonly worker?: boolean;
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

/**
 * Imports a device manifest (NDJSON or CSV) into the store: a streaming parse, every line
 * checked, good lines written in batches, each batch with the job's checkpoint in one
 * transaction. After a crash the same call resumes after the last committed line, and the
 * totals stay exact. Bad lines are reported and skipped; a device already registered with
 * the same content counts as unchanged, with other content as a conflict (never overwritten).
 * Within a batch a device id appears once: a repeat closes the batch, so each conflict is
 * pinned to its line. Lines are parsed and checked in a worker thread while this one
 * writes the batches before them ({@link DeviceImportOptions.worker}).
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

  const progress = (): DeviceImportProgress => ({
    jobId,
    totalLines: facts.lines,
    linesDone: committed,
    startLine,
    ...totals,
    elapsedMs: performance.now() - started,
  });

  const write = (batch: CheckedBatch) => {
    const lines = batch.upTo - committed;
    const job = { jobId, source, sourceSha256, lines, rejected: batch.rejects.length, at: clock.now() };
    return store.importCheckedBatch(batch.packed, job);
  };

  const flush = async (batch: CheckedBatch): Promise<void> => {
    const result = await write(batch);
    const checkpoint = result.checkpoint as ImportCheckpoint;
    if (checkpoint.linesDone !== batch.upTo) {
      throw new MeshError(
        'VERSION_CONFLICT',
        `import job ${jobId} was advanced by another import running at the same time`,
        {
          details: { jobId, expected: batch.upTo, found: checkpoint.linesDone },
        },
      );
    }
    committed = batch.upTo;
    totals = { inserted: checkpoint.inserted, unchanged: checkpoint.unchanged, rejected: checkpoint.rejected };
    invalid += batch.rejects.length;
    conflicts += result.conflicts.length;
    let rejects = batch.rejects;
    if (result.conflicts.length > 0) {
      const lineOf = lineOfDevice(batch);
      const found = result.conflicts.map(
        (conflict): RejectedLine => ({
          line: lineOf.get(conflict.deviceId) ?? 0,
          deviceId: conflict.deviceId,
          field: 'deviceId',
          code: 'ALREADY_EXISTS',
          message: `device ${conflict.deviceId} is registered with other content (${conflict.reason}); it was left as it is`,
        }),
      );
      rejects = [...rejects, ...found].sort((a, b) => a.line - b.line);
    }
    for (const reject of rejects) {
      if (listed.length < listRejects) listed.push(reject);
      options.onReject?.(reject);
    }
    options.onProgress?.(progress());
  };

  const plan: BatchPlan = {
    source,
    format,
    startLine,
    totalLines: facts.lines,
    batchSize,
  };
  const threadInit = options.worker !== false ? checker.threadInit : undefined;
  const batches =
    threadInit !== undefined && importWorkerAvailable()
      ? workerBatches(plan, threadInit)
      : checkedBatches(plan, checker);
  for await (const batch of batches) await flush(batch);
  return { ...start, ...progress(), invalid, conflicts, rejects: listed };
}

/** Device id → line, for the batch's conflicts (a batch holds each id once). */
function lineOfDevice(batch: CheckedBatch): Map<string, number> {
  return new Map(batch.lines.map((line, i) => [packedDeviceId(batch.packed, i), line]));
}
