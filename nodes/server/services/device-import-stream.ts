import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../../common/clock.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../../common/errors/registry.js';
import type { Device, DeviceStore } from '../../../common/stores/device-store.js';
import { type BadLine, ImportFormat } from '../../../proto/gen/citymesh/v1/common.js';
import type { ImportDevicesRequest, ImportDevicesResponse } from '../../../proto/gen/citymesh/v1/device_service.js';
import {
  csvEntries,
  DeviceChecker,
  DeviceFault,
  type ManifestEntry,
  ndjsonEntries,
  type Taxonomy,
} from '../../devices/index.js';
import { reasonOf } from './audit-proto.js';
import { DeviceImportDryRun } from './device-import-dry-run.js';
import { malformed } from './device-proto.js';

const MAX_LISTED_BAD_LINES = 1000;
const IMPORT_BATCH = 1000;

export interface ImportDeps {
  readonly store: DeviceStore;
  readonly city: string;
  readonly cityRegion: string;
  readonly taxonomy: Taxonomy;
  readonly clock: Clock;
}

/**
 * ImportDevices: the stream's lines (device manifest lines, as `citymesh devices import`
 * reads them: NDJSON objects or CSV with its header) spooled to a private temporary file,
 * then parsed and checked line by line as the CLI's importer does (`DeviceChecker`), and
 * written in batches through `DeviceStore.importBatch`. End of stream = end of the
 * manifest; a cancelled stream imports nothing.
 */
export async function importDeviceLines(
  deps: ImportDeps,
  call: grpc.ServerReadableStream<ImportDevicesRequest, ImportDevicesResponse>,
): Promise<{
  dryRun: boolean;
  counts: { linesRead: number; registered: number; unchanged: number; rejected: number };
  badLines: BadLine[];
}> {
  const typeName = 'ImportDevicesRequest';
  const dir = await mkdtemp(join(tmpdir(), 'citymesh-devices-'));
  try {
    const path = join(dir, 'manifest');
    const out = createWriteStream(path, { encoding: 'utf8' });
    let format = ImportFormat.IMPORT_FORMAT_UNSPECIFIED;
    let dryRun = false;
    let linesRead = 0;
    let first = true;
    try {
      for await (const message of call as AsyncIterable<ImportDevicesRequest>) {
        if (first) {
          format = message.format;
          dryRun = message.dryRun;
          if (format !== ImportFormat.IMPORT_FORMAT_NDJSON && format !== ImportFormat.IMPORT_FORMAT_CSV) {
            throw malformed(typeName, 'format', 'must be IMPORT_FORMAT_NDJSON or IMPORT_FORMAT_CSV');
          }
          first = false;
        } else if (message.format !== ImportFormat.IMPORT_FORMAT_UNSPECIFIED && message.format !== format) {
          throw malformed(typeName, 'format', 'must be unspecified or equal to the first message’s');
        }
        for (const line of message.lines) {
          linesRead++;
          if (/[\r\n]/.test(line)) throw malformed(typeName, 'lines', `line ${linesRead} holds a line terminator`);
          if (!out.write(`${line}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
        }
      }
    } finally {
      await new Promise((resolve) => out.end(resolve));
    }
    if (first) throw malformed(typeName, 'format', 'the stream ended before its first message');
    if (call.cancelled) {
      throw new MeshError('MALFORMED_REQUEST', 'the import stream was cancelled; nothing was imported', {
        details: { message: typeName, rule: 'incomplete' },
      });
    }
    const checker = new DeviceChecker({ city: deps.city, cityRegion: deps.cityRegion, taxonomy: deps.taxonomy });
    const badLines: BadLine[] = [];
    const counts = { linesRead, registered: 0, unchanged: 0, rejected: 0 };
    const reject = (line: number, code: ErrorCode, message: string) => {
      counts.rejected++;
      if (badLines.length < MAX_LISTED_BAD_LINES) badLines.push({ line, reason: reasonOf(code), message });
    };
    let batch: Device[] = [];
    const lineOf = new Map<string, number>();
    const conflict = (deviceId: string, reason: string) =>
      reject(
        lineOf.get(deviceId) ?? 0,
        'ALREADY_EXISTS',
        `device ${deviceId} is registered with other content (${reason}); it was left as it is`,
      );
    // A dry run reports what the import would: the same counts and the same rejected lines.
    const dry = dryRun ? new DeviceImportDryRun(deps.store, deps.city) : undefined;
    const flush = async () => {
      if (batch.length === 0) return;
      if (dry !== undefined) {
        for (const device of batch) {
          const outcome = await dry.outcome(device);
          if (outcome === 'inserted') counts.registered++;
          else if (outcome === 'unchanged') counts.unchanged++;
          else conflict(device.deviceId, outcome.conflict);
        }
      } else {
        const result = await deps.store.importBatch(batch);
        counts.registered += result.inserted;
        counts.unchanged += result.unchanged;
        for (const c of result.conflicts) conflict(c.deviceId, c.reason);
      }
      batch = [];
      lineOf.clear();
    };
    const at = deps.clock.now();
    const entries = format === ImportFormat.IMPORT_FORMAT_CSV ? csvEntries(path) : ndjsonEntries(path);
    for await (const chunk of entries as AsyncIterable<readonly ManifestEntry[]>) {
      for (const entry of chunk) {
        const checked = entry.fault ?? checker.check(entry.value, at);
        if (checked instanceof DeviceFault) {
          reject(
            entry.line,
            checked.code,
            checked.field === '' ? checked.message : `${checked.field}: ${checked.message}`,
          );
          continue;
        }
        if (lineOf.has(checked.deviceId)) await flush();
        lineOf.set(checked.deviceId, entry.line);
        batch.push(checked);
        if (batch.length >= IMPORT_BATCH) await flush();
      }
    }
    await flush();
    badLines.sort((a, b) => a.line - b.line);
    return { dryRun, counts, badLines };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
