import { MeshError } from '../../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../../common/errors/registry.js';
import type { Device, DeviceStore } from '../../../common/stores/device-store.js';
import type { NewRecord, RecordStore } from '../../../common/stores/record-store.js';
import type { BadLine } from '../../../proto/gen/citymesh/v1/common.js';
import type { SendTelemetryRequest, SendTelemetryResponse } from '../../../proto/gen/citymesh/v1/device_service.js';
import { requireActive } from '../../devices/auth/device-checks.js';
import { type Taxonomy, telemetryValidatorOf } from '../../devices/index.js';
import { reasonOf } from './audit-proto.js';

/** Readings listed as rejected in a response; the rest are counted. */
export const MAX_LISTED_BAD_READINGS = 1000;
/** Largest reading accepted (its JSON). */
export const MAX_READING_BYTES = 64 * 1024;
const READING_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The dataset a device's readings are stored in: `<cluster>/<city>/<ownerOrg>/telemetry-<type>`
 * (the type id within its industry, unique across the bundled taxonomy). A data office
 * publishes the device data by publishing a catalog entry with this id.
 */
export function telemetryDatasetId(cluster: string, device: Pick<Device, 'city' | 'ownerOrg' | 'type'>): string {
  return `${cluster}/${device.city}/${device.ownerOrg}/telemetry-${device.type}`;
}

/** Who sends: a device (its own readings only) or a gateway relaying devices of this city. */
export type TelemetrySender = { readonly kind: 'device'; readonly deviceId: string } | { readonly kind: 'gateway' };

export interface TelemetryDeps {
  readonly cluster: string;
  readonly city: string;
  readonly devices: DeviceStore;
  readonly records: RecordStore;
  readonly taxonomy: Taxonomy;
  readonly now: () => Date;
}

class Rejected extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads a SendTelemetry stream to its end. Each message is handled before the next is
 * read: devices are read from the store once per message (so a suspension refuses the
 * readings of the next message), readings checked against their type's schema, and the
 * good ones appended to their datasets. A reading id already stored counts as accepted
 * and is not stored again.
 */
export async function receiveTelemetry(
  deps: TelemetryDeps,
  sender: TelemetrySender,
  messages: AsyncIterable<SendTelemetryRequest>,
): Promise<SendTelemetryResponse> {
  let position = 0;
  let accepted = 0;
  let rejected = 0;
  const bad: BadLine[] = [];
  const reject = (line: number, code: ErrorCode, message: string) => {
    rejected++;
    if (bad.length < MAX_LISTED_BAD_READINGS) bad.push({ line, reason: reasonOf(code), message });
  };
  for await (const message of messages) {
    if (message.readings.length === 0) {
      throw new MeshError('MALFORMED_REQUEST', 'SendTelemetryRequest.readings: needs at least one reading', {
        details: { message: 'SendTelemetryRequest', field: 'readings' },
      });
    }
    const devices = new Map<string, Promise<Device | undefined>>();
    const lookup = (id: string) => {
      let found = devices.get(id);
      if (found === undefined) {
        found = deps.devices.get(deps.city, id);
        devices.set(id, found);
      }
      return found;
    };
    const batches = new Map<string, { positions: number[]; records: NewRecord[]; ids: Set<string> }>();
    for (const reading of message.readings) {
      const line = ++position;
      try {
        const deviceId = reading.deviceId === '' && sender.kind === 'device' ? sender.deviceId : reading.deviceId;
        if (deviceId === '') throw new Rejected('MALFORMED_REQUEST', 'device_id is required when a gateway relays');
        if (sender.kind === 'device' && deviceId !== sender.deviceId) {
          throw new Rejected(
            'ROLE_REQUIRED',
            `a device sends its own readings only, not those of ${deviceId.slice(0, 128)}`,
          );
        }
        const device = requireActiveOrReject(await lookup(deviceId), deps.city, deviceId);
        if (reading.readingId !== '' && !READING_ID_PATTERN.test(reading.readingId)) {
          throw new Rejected('MALFORMED_REQUEST', 'reading_id must be 1-128 characters of [A-Za-z0-9._:-]');
        }
        if (reading.observedAt === undefined) throw new Rejected('MALFORMED_REQUEST', 'observed_at is required');
        if (reading.json.length > MAX_READING_BYTES) {
          throw new Rejected('MALFORMED_REQUEST', `json is larger than ${MAX_READING_BYTES} bytes`);
        }
        let value: unknown;
        try {
          value = JSON.parse(Buffer.from(reading.json).toString('utf8'));
        } catch {
          throw new Rejected('MALFORMED_REQUEST', 'json is not JSON text');
        }
        const type = deps.taxonomy.find(device.industry, device.type);
        if (type === undefined) {
          throw new Rejected(
            'SCHEMA_VIOLATION',
            `device type ${device.industry}/${device.type} is no longer in the taxonomy`,
          );
        }
        const result = telemetryValidatorOf(type)(value);
        if (!result.ok)
          throw new Rejected('SCHEMA_VIOLATION', `${device.industry}/${device.type}: ${result.problems.join('; ')}`);
        const observedAt = reading.observedAt.toISOString();
        // The reading's own fields cannot overwrite who sent it and when.
        const json = JSON.stringify(Object.assign({ deviceId, observedAt }, result.values, { deviceId, observedAt }));
        const datasetId = telemetryDatasetId(deps.cluster, device);
        let batch = batches.get(datasetId);
        if (batch === undefined) {
          batch = { positions: [], records: [], ids: new Set() };
          batches.set(datasetId, batch);
        }
        if (reading.readingId === '') {
          batch.records.push({ json });
        } else {
          const recordId = `${deviceId}:${reading.readingId}`;
          // The same reading twice in one message: stored once, accepted twice.
          if (!batch.ids.has(recordId)) batch.records.push({ recordId, json });
          batch.ids.add(recordId);
        }
        accepted++;
      } catch (err) {
        if (err instanceof Rejected) reject(line, err.code, err.message);
        else if (err instanceof MeshError) reject(line, err.code, err.message);
        else throw err;
      }
    }
    const at = deps.now();
    for (const [datasetId, batch] of batches) await appendOnce(deps.records, datasetId, batch.records, at);
  }
  if (position === 0) {
    throw new MeshError('MALFORMED_REQUEST', 'SendTelemetryRequest: the stream held no reading', {
      details: { message: 'SendTelemetryRequest', field: 'readings' },
    });
  }
  return { accepted, rejected, badReadings: bad };
}

function requireActiveOrReject(device: Device | undefined, city: string, deviceId: string): Device {
  try {
    return requireActive(device, city, deviceId);
  } catch (err) {
    if (err instanceof MeshError) throw new Rejected(err.code, err.message);
    throw err;
  }
}

/**
 * Appends the records; when one of them is stored already (a resent reading), appends them
 * one by one and skips those: `appendBatch` is all or nothing.
 */
async function appendOnce(records: RecordStore, datasetId: string, batch: readonly NewRecord[], at: Date) {
  if (batch.length === 0) return;
  try {
    await records.appendBatch(datasetId, batch, at);
  } catch (err) {
    if (!(err instanceof MeshError) || err.code !== 'ALREADY_EXISTS') throw err;
    for (const record of batch) {
      try {
        await records.appendBatch(datasetId, [record], at);
      } catch (one) {
        if (!(one instanceof MeshError) || one.code !== 'ALREADY_EXISTS') throw one;
      }
    }
  }
}
