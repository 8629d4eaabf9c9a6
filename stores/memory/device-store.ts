import type {
  Device,
  DeviceCredential,
  DeviceFilter,
  DeviceStatus,
  DeviceStore,
  ImportCheckpoint,
  ImportConflict,
  ImportProgress,
  ImportResult,
} from '../../common/stores/device-store.js';
import { type PackedDevices, unpackDevices } from '../../common/stores/packed-devices.js';
import type { Page, PageRequest } from '../../common/stores/paging.js';
import { clone } from '../shared/clone.js';
import {
  addDeviceCredential,
  advanceCheckpoint,
  type CheckedDeviceFilter,
  changeDeviceStatus,
  checkDeviceFilter,
  deviceDifferences,
  deviceNotFound,
  removeDeviceCredential,
  validateCheckpoint,
  validateDevice,
  validateProgress,
} from '../shared/device-rules.js';
import { type PageTokenCodec, resolvePageSize } from '../shared/page-token.js';
import { requireText } from '../shared/validate.js';
import { keysetPage } from './keyset.js';

/** {@link DeviceStore} in memory, for tests and fakes (not for a million devices). */
export class MemoryDeviceStore implements DeviceStore {
  /** city → deviceId → device. */
  readonly #devices = new Map<string, Map<string, Device>>();
  readonly #checkpoints = new Map<string, ImportCheckpoint>();

  constructor(private readonly tokens: PageTokenCodec) {}

  async importCheckedBatch(packed: PackedDevices, progress: ImportProgress): Promise<ImportResult> {
    return this.importBatch(unpackDevices(packed, progress.at), progress);
  }

  async importBatch(devices: readonly Device[], progress?: ImportProgress): Promise<ImportResult> {
    // Validate everything first: a bad device must leave the store untouched.
    const incoming = devices.map(validateDevice);
    if (progress !== undefined) validateProgress(progress, incoming.length);
    const staged = new Map<string, Device>();
    const keyOf = (d: Device) => `${d.city}\u0000${d.deviceId}`;
    let inserted = 0;
    let unchanged = 0;
    const conflicts: ImportConflict[] = [];
    for (const device of incoming) {
      const stored = staged.get(keyOf(device)) ?? this.#devices.get(device.city)?.get(device.deviceId);
      if (stored === undefined) {
        staged.set(keyOf(device), device);
        inserted++;
        continue;
      }
      const differences = deviceDifferences(stored, device);
      if (differences.length === 0) unchanged++;
      else conflicts.push({ deviceId: device.deviceId, reason: `differs in: ${differences.join(', ')}` });
    }
    const checkpoint =
      progress === undefined
        ? undefined
        : advanceCheckpoint(this.#checkpoints.get(progress.jobId), progress, {
            inserted,
            unchanged,
            conflicts: conflicts.length,
          });
    for (const device of staged.values()) this.#city(device.city).set(device.deviceId, device);
    if (checkpoint !== undefined) this.#checkpoints.set(checkpoint.jobId, checkpoint);
    return { inserted, unchanged, conflicts, ...(checkpoint === undefined ? {} : { checkpoint: clone(checkpoint) }) };
  }

  async get(city: string, deviceId: string): Promise<Device | undefined> {
    const stored = this.#devices.get(city)?.get(deviceId);
    return stored === undefined ? undefined : clone(stored);
  }

  async list(filter: DeviceFilter, page: PageRequest = {}): Promise<Page<Device>> {
    const checked = checkDeviceFilter(filter);
    const size = resolvePageSize(page.pageSize);
    // Same order as the SQL implementation: with a region prefix the region index decides.
    const byRegion = checked.region !== undefined;
    const keyOf = (d: Device) => (byRegion ? [d.regionCode, d.deviceId] : [d.deviceId]);
    const shape = byRegion ? (['string', 'string'] as const) : (['string'] as const);
    const after = this.tokens.after('devices', checked.filter, page.pageToken, shape);
    const result = keysetPage(this.#matching(checked), keyOf, after, size, (key) =>
      this.tokens.encode('devices', checked.filter, key),
    );
    return { ...result, items: result.items.map(clone) };
  }

  async count(filter: DeviceFilter): Promise<number> {
    let n = 0;
    for (const _ of this.#matching(checkDeviceFilter(filter))) n++;
    return n;
  }

  async setStatus(city: string, deviceId: string, status: DeviceStatus, at: Date): Promise<Device> {
    return this.#update(city, deviceId, (d) => changeDeviceStatus(d, status, at));
  }

  async addCredential(city: string, deviceId: string, credential: DeviceCredential, at: Date): Promise<Device> {
    return this.#update(city, deviceId, (d) => addDeviceCredential(d, credential, at));
  }

  async removeCredential(city: string, deviceId: string, credentialId: string, at: Date): Promise<Device> {
    return this.#update(city, deviceId, (d) => removeDeviceCredential(d, credentialId, at));
  }

  async saveImportCheckpoint(checkpoint: ImportCheckpoint): Promise<void> {
    const checked = validateCheckpoint(checkpoint);
    this.#checkpoints.set(checked.jobId, checked);
  }

  async getImportCheckpoint(jobId: string): Promise<ImportCheckpoint | undefined> {
    const stored = this.#checkpoints.get(jobId);
    return stored === undefined ? undefined : clone(stored);
  }

  #city(city: string): Map<string, Device> {
    let devices = this.#devices.get(city);
    if (devices === undefined) {
      devices = new Map();
      this.#devices.set(city, devices);
    }
    return devices;
  }

  *#matching({ filter, region }: CheckedDeviceFilter): Iterable<Device> {
    for (const d of this.#devices.get(filter.city)?.values() ?? []) {
      if (filter.industry !== undefined && d.industry !== filter.industry) continue;
      if (filter.type !== undefined && d.type !== filter.type) continue;
      if (filter.status !== undefined && d.status !== filter.status) continue;
      if (region !== undefined && !(d.regionCode >= region.low && d.regionCode < region.high)) continue;
      yield d;
    }
  }

  #update(city: string, deviceId: string, change: (device: Device) => Device): Device {
    const stored = this.#devices.get(requireText('city', city))?.get(requireText('deviceId', deviceId));
    if (stored === undefined) throw deviceNotFound(city, deviceId);
    const next = change(stored);
    if (next !== stored) this.#city(city).set(deviceId, clone(next));
    return clone(next);
  }
}
