import type {
  Device,
  DeviceCredential,
  DeviceFilter,
  DeviceStatus,
  DeviceStore,
  ImportCheckpoint,
  ImportProgress,
  ImportResult,
} from '../../common/stores/device-store.js';
import {
  attributesColumn,
  credentialsColumn,
  type PackedDevices,
  packedCount,
} from '../../common/stores/packed-devices.js';
import type { Page, PageRequest } from '../../common/stores/paging.js';
import {
  addDeviceCredential,
  type CheckedDeviceFilter,
  changeDeviceStatus,
  checkDevice,
  checkDeviceFilter,
  deviceNotFound,
  removeDeviceCredential,
  validateCheckpoint,
  validateProgress,
} from '../shared/device-rules.js';
import type { KeysetKey, PageTokenCodec } from '../shared/page-token.js';
import { resolvePageSize } from '../shared/page-token.js';
import { requireText } from '../shared/validate.js';
import { fromMs, optionalField, toMs } from './columns.js';
import type { SqliteDatabase } from './database.js';
import { DeviceImportWriter } from './device-import-writer.js';
import { afterKey, listSql, type Params, toPage } from './paging.js';
import { StatementCache } from './statements.js';

type DeviceRow = {
  city: string;
  device_id: string;
  type: string;
  industry: string;
  region_code: string;
  owner_org: string;
  status: DeviceStatus;
  credentials: string;
  attributes: string | null;
  created_at: number;
  updated_at: number;
};

/** Credentials are JSON with dates as epoch milliseconds (JSON has no date type). */
type CredentialJson = Omit<DeviceCredential, 'notBefore' | 'notAfter'> & { notBefore: number; notAfter: number };

function fromRow(row: DeviceRow): Device {
  const credentials = (JSON.parse(row.credentials) as CredentialJson[]).map(
    (c): DeviceCredential => ({ ...c, notBefore: fromMs(c.notBefore), notAfter: fromMs(c.notAfter) }),
  );
  return {
    city: row.city,
    deviceId: row.device_id,
    type: row.type,
    industry: row.industry,
    regionCode: row.region_code,
    ownerOrg: row.owner_org,
    status: row.status,
    credentials,
    ...optionalField(
      'attributes',
      row.attributes === null ? null : (JSON.parse(row.attributes) as Record<string, string>),
    ),
    createdAt: fromMs(row.created_at),
    updatedAt: fromMs(row.updated_at),
  };
}

function toRow(device: Device): DeviceRow {
  return {
    city: device.city,
    device_id: device.deviceId,
    type: device.type,
    industry: device.industry,
    region_code: device.regionCode,
    owner_org: device.ownerOrg,
    status: device.status,
    credentials: credentialsColumn(device.credentials),
    attributes: attributesColumn(device.attributes),
    created_at: toMs(device.createdAt),
    updated_at: toMs(device.updatedAt),
  };
}

/**
 * The WHERE conditions, ORDER BY columns and parameters of a device listing. Exported so a
 * test can `EXPLAIN QUERY PLAN` every filter combination and prove it uses an index.
 */
export function deviceListQuery(
  checked: CheckedDeviceFilter,
  after?: KeysetKey,
): { conditions: string[]; order: string[]; params: Params } {
  const { filter, region } = checked;
  const conditions = ['city = @city'];
  const params: Params = { city: filter.city };
  for (const [field, column] of [
    ['industry', 'industry'],
    ['type', 'type'],
    ['status', 'status'],
  ] as const) {
    const value = filter[field];
    if (value !== undefined) {
      conditions.push(`${column} = @${column}`);
      params[column] = value;
    }
  }
  // With a region prefix, order by region first: the (city, region_code, device_id) index
  // then yields the page in order instead of sorting every device of the region.
  const order = region === undefined ? ['device_id'] : ['region_code', 'device_id'];
  if (region !== undefined) {
    // After the first page the keyset condition is the lower bound; keeping `>= low` as
    // well would make SQLite seek to the start of the region and skip forward on every page.
    conditions.push(
      after === undefined ? 'region_code >= @region_low AND region_code < @region_high' : 'region_code < @region_high',
    );
    if (after === undefined) params.region_low = region.low;
    params.region_high = region.high;
  }
  if (after !== undefined) {
    const keyset = afterKey(order, after);
    conditions.push(keyset.sql);
    Object.assign(params, keyset.params);
  }
  return { conditions, order, params };
}

/**
 * {@link DeviceStore} on SQLite, indexed for a million devices per city. Checked bulk
 * batches are bound column by column ({@link DeviceImportWriter}).
 */
export class SqliteDeviceStore implements DeviceStore {
  readonly #lists: StatementCache;
  readonly #select;
  readonly #update;
  readonly #imports: DeviceImportWriter;
  readonly #change;

  constructor(
    db: SqliteDatabase,
    private readonly tokens: PageTokenCodec,
  ) {
    this.#lists = new StatementCache(db);
    this.#select = db.prepare<[string, string], DeviceRow>('SELECT * FROM devices WHERE city = ? AND device_id = ?');
    this.#update = db.prepare<[DeviceRow]>(
      `UPDATE devices SET status = @status, credentials = @credentials, updated_at = @updated_at
       WHERE city = @city AND device_id = @device_id`,
    );
    this.#imports = new DeviceImportWriter(db);
    this.#change = db.transaction((city: string, deviceId: string, change: (device: Device) => Device): Device => {
      const row = this.#select.get(city, deviceId);
      if (row === undefined) throw deviceNotFound(city, deviceId);
      const stored = fromRow(row);
      const next = change(stored);
      if (next !== stored) this.#update.run(toRow(next));
      return next;
    });
  }

  async importBatch(devices: readonly Device[], progress?: ImportProgress): Promise<ImportResult> {
    // Every device is checked before anything is written: one bad device writes nothing.
    for (const device of devices) checkDevice(device);
    if (progress !== undefined) validateProgress(progress, devices.length);
    return this.#imports.importDevices(devices, progress);
  }

  /**
   * A batch of devices a `DeviceChecker` accepted, packed by the importer: written as
   * they are, without the shape checks of {@link importBatch} (they would repeat the
   * checker's, which are stricter). Only the bulk import calls this.
   */
  async importCheckedBatch(packed: PackedDevices, progress: ImportProgress): Promise<ImportResult> {
    validateProgress(progress, packedCount(packed));
    return this.#imports.importPacked(packed, progress);
  }

  async get(city: string, deviceId: string): Promise<Device | undefined> {
    const row = this.#select.get(city, deviceId);
    return row === undefined ? undefined : fromRow(row);
  }

  async list(filter: DeviceFilter, page: PageRequest = {}): Promise<Page<Device>> {
    const checked = checkDeviceFilter(filter);
    const size = resolvePageSize(page.pageSize);
    const byRegion = checked.region !== undefined;
    const shape = byRegion ? (['string', 'string'] as const) : (['string'] as const);
    const after = this.tokens.after('devices', checked.filter, page.pageToken, shape);
    const { conditions, order, params } = deviceListQuery(checked, after);
    const rows = this.#lists
      .get(listSql('devices', conditions, order))
      .all({ ...params, limit: size + 1 }) as DeviceRow[];
    return toPage(rows, size, fromRow, (last) =>
      this.tokens.encode('devices', checked.filter, byRegion ? [last.regionCode, last.deviceId] : [last.deviceId]),
    );
  }

  async count(filter: DeviceFilter): Promise<number> {
    const { conditions, params } = deviceListQuery(checkDeviceFilter(filter));
    const row = this.#lists.get(`SELECT count(*) AS n FROM devices WHERE ${conditions.join(' AND ')}`).get(params) as {
      n: number;
    };
    return row.n;
  }

  async setStatus(city: string, deviceId: string, status: DeviceStatus, at: Date): Promise<Device> {
    return this.#changeDevice(city, deviceId, (d) => changeDeviceStatus(d, status, at));
  }

  async addCredential(city: string, deviceId: string, credential: DeviceCredential, at: Date): Promise<Device> {
    return this.#changeDevice(city, deviceId, (d) => addDeviceCredential(d, credential, at));
  }

  async removeCredential(city: string, deviceId: string, credentialId: string, at: Date): Promise<Device> {
    return this.#changeDevice(city, deviceId, (d) => removeDeviceCredential(d, credentialId, at));
  }

  async saveImportCheckpoint(checkpoint: ImportCheckpoint): Promise<void> {
    this.#imports.saveCheckpoint(validateCheckpoint(checkpoint));
  }

  async getImportCheckpoint(jobId: string): Promise<ImportCheckpoint | undefined> {
    return this.#imports.getCheckpoint(jobId);
  }

  #changeDevice(city: string, deviceId: string, change: (device: Device) => Device): Device {
    return this.#change.immediate(requireText('city', city), requireText('deviceId', deviceId), change);
  }
}
