import { MeshError } from '../../../common/errors/mesh-error.js';
import { DevicePacker, type PackedDevices } from '../../../common/stores/packed-devices.js';
import type { DeviceChecker } from '../registry/device-checker.js';
import { DeviceFault } from '../registry/device-fault.js';
import { csvEntries } from './csv-entries.js';
import type { RejectedLine } from './device-import.js';
import type { ManifestFormat } from './manifest-file.js';
import { type ManifestEntry, ndjsonEntries } from './ndjson-entries.js';

/** What to read and how to cut it into batches: plain data, so it can be posted to a worker. */
export interface BatchPlan {
  readonly source: string;
  readonly format: ManifestFormat;
  /** Lines already committed: reading starts after them. */
  readonly startLine: number;
  /** Lines the first pass counted; a manifest that grows while read is refused. */
  readonly totalLines: number;
  /** Devices plus rejected lines per batch. */
  readonly batchSize: number;
}

/** One transaction's worth of a manifest, checked. */
export interface CheckedBatch {
  /** The last line the batch covers: the job's `linesDone` once it commits. */
  readonly upTo: number;
  /** Accepted devices, packed for `DeviceStore.importCheckedBatch`; created when they commit. */
  readonly packed: PackedDevices;
  /** The line of each accepted device, in order. */
  readonly lines: readonly number[];
  /** Lines the checks refused, in line order. */
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

export function changedWhileRead(source: string): MeshError {
  return new MeshError('MALFORMED_REQUEST', `${source} changed while it was imported; import it again`, {
    details: { field: 'file' },
  });
}

/** Devices are stamped when their batch commits; the checker still wants an instant. */
const UNUSED_INSTANT = new Date(0);

/**
 * Reads the manifest after `plan.startLine`, checks every line and cuts the result into
 * batches of `plan.batchSize` lines. Within a batch a device id appears once: a repeat
 * closes the batch, so each conflict is pinned to its line. The last batch also covers
 * trailing blank lines, so a finished job has `linesDone` = `totalLines`.
 *
 * @throws MeshError `MALFORMED_REQUEST` for a bad CSV header or CSV syntax (the batches
 *   before it are complete), or a file that changed while read
 */
export async function* checkedBatches(plan: BatchPlan, checker: DeviceChecker): AsyncGenerator<CheckedBatch> {
  const { source, totalLines } = plan;
  const batchSize = Math.max(1, plan.batchSize);
  let done = plan.startLine;
  const packer = new DevicePacker(checker.city);
  let lines: number[] = [];
  let rejects: RejectedLine[] = [];
  const ids = new Set<string>();

  const cut = (upTo: number): CheckedBatch => {
    const batch = { upTo, packed: packer.take(), lines, rejects };
    done = upTo;
    lines = [];
    rejects = [];
    ids.clear();
    return batch;
  };

  const entries = plan.format === 'csv' ? csvEntries(source, plan.startLine) : ndjsonEntries(source, plan.startLine);
  for await (const chunk of entries as AsyncIterable<readonly ManifestEntry[]>) {
    for (const entry of chunk) {
      if (entry.lastLine > totalLines) throw changedWhileRead(source);
      const checked = entry.fault ?? checker.check(entry.value, UNUSED_INSTANT);
      if (checked instanceof DeviceFault) {
        rejects.push(rejectOf(entry.line, checked, deviceIdIn(entry.value)));
      } else {
        if (ids.has(checked.deviceId)) yield cut(entry.line - 1);
        ids.add(checked.deviceId);
        lines.push(entry.line);
        packer.add(checked);
      }
      if (lines.length + rejects.length >= batchSize) yield cut(entry.lastLine);
    }
  }
  if (done < totalLines || lines.length + rejects.length > 0) yield cut(totalLines);
}
