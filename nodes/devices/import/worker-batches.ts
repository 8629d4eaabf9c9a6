import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type ErrorDetails, MeshError } from '../../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../../common/errors/registry.js';
import type { BatchPlan, CheckedBatch } from './checked-batches.js';

/** Batches the worker may have posted that the main thread has not finished with yet. */
export const WORKER_BATCHES_IN_FLIGHT = 2;

/** What the worker thread is started with. */
export interface WorkerInit {
  readonly plan: BatchPlan;
  /** Rebuilds the importer's checker there (`DeviceChecker.threadInit`). */
  readonly checks: { readonly city: string; readonly cityRegion: string };
  readonly inFlight: number;
}

/** An error crossing the thread boundary; a MeshError keeps its code and details. */
export interface PostedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: ErrorCode;
  readonly details?: ErrorDetails;
}

/** What the worker posts, in order: batches, then `end` or `error`. */
export type WorkerReport =
  | { readonly kind: 'batch'; readonly batch: CheckedBatch }
  | { readonly kind: 'end' }
  | { readonly kind: 'error'; readonly error: PostedError };

/**
 * The compiled worker script. Next to this module only in compiled form (`dist/`): run from
 * TypeScript sources (tests), the import checks lines on the main thread instead.
 */
const WORKER_SCRIPT = new URL('./import-worker.js', import.meta.url);

export const importWorkerAvailable = (): boolean => existsSync(fileURLToPath(WORKER_SCRIPT));

function errorOf(posted: PostedError): Error {
  if (posted.code !== undefined) return new MeshError(posted.code, posted.message, { details: posted.details ?? {} });
  const err = new Error(posted.message);
  err.name = posted.name;
  if (posted.stack !== undefined) err.stack = posted.stack;
  return err;
}

/**
 * The batches of {@link checkedBatches}, computed in a worker thread while the caller
 * writes the previous ones. The worker runs at most {@link WORKER_BATCHES_IN_FLIGHT}
 * batches ahead; leaving the loop early (a failed write) stops it.
 */
export async function* workerBatches(plan: BatchPlan, checks: WorkerInit['checks']): AsyncGenerator<CheckedBatch> {
  const init: WorkerInit = { plan, checks, inFlight: WORKER_BATCHES_IN_FLIGHT };
  const worker = new Worker(WORKER_SCRIPT, { workerData: init });
  const reports: WorkerReport[] = [];
  let failure: Error | undefined;
  let exited = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  worker.on('message', (report: WorkerReport) => {
    reports.push(report);
    notify();
  });
  worker.on('error', (err) => {
    failure = err;
    notify();
  });
  worker.on('exit', () => {
    exited = true;
    notify();
  });
  try {
    for (;;) {
      const report = reports.shift();
      if (report === undefined) {
        if (failure !== undefined) throw failure;
        if (exited) throw new Error('the import worker thread stopped before the end of the manifest');
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if (report.kind === 'end') return;
      if (report.kind === 'error') throw errorOf(report.error);
      yield report.batch;
      worker.postMessage(null);
    }
  } finally {
    await worker.terminate();
  }
}
