import { parentPort, workerData } from 'node:worker_threads';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { DeviceChecker } from '../registry/device-checker.js';
import { defaultTaxonomy } from '../taxonomy/index.js';
import { checkedBatches } from './checked-batches.js';
import type { PostedError, WorkerInit, WorkerReport } from './worker-batches.js';

/*
 * The worker thread of a bulk import: reads the manifest, parses and checks every line and
 * posts the batches, while the main thread writes them. It runs ahead by at most
 * `inFlight` batches: the main thread acknowledges each one it is done with.
 */

const port = parentPort;
if (port === null) throw new Error('import-worker.js runs as a worker thread of importDevices');
const init = workerData as WorkerInit;

let credits = init.inFlight;
let wake: (() => void) | undefined;
port.on('message', () => {
  credits++;
  wake?.();
});

const post = (report: WorkerReport) => {
  const refs = report.kind === 'batch' ? report.batch.packed.refs : undefined;
  port.postMessage(report, refs === undefined ? [] : [refs.buffer as ArrayBuffer]);
};

function posted(err: unknown): PostedError {
  if (err instanceof MeshError) return { name: err.name, message: err.message, code: err.code, details: err.details };
  if (err instanceof Error) return { name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
  return { name: 'Error', message: String(err) };
}

try {
  const checker = new DeviceChecker({ ...init.checks, taxonomy: defaultTaxonomy() });
  for await (const batch of checkedBatches(init.plan, checker)) {
    while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
    credits--;
    post({ kind: 'batch', batch });
  }
  post({ kind: 'end' });
} catch (err) {
  post({ kind: 'error', error: posted(err) });
} finally {
  // Nothing more to wait for: let the thread end once the last report is delivered.
  port.unref();
}
