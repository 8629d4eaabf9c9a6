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
import type { Page, PageRequest } from '../../common/stores/paging.js';
import { contentKey } from '../shared/content-key.js';
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
import type { KeysetKey, PageTokenCodec } from '../shared/page-token.js';
import { resolvePageSize } from '../shared/page-token.js';
import { requireText } from '../shared/validate.js';
import { fromMs, optionalField, toMs } from './columns.js';
import type { SqliteDatabase } from './database.js';
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

type CheckpointRow = {
  job_id: string;
  source: string;
  source_sha256: string;
  lines_done: number;
  inserted: number;
  unchanged: number;
  rejected: number;
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
    credentials: contentKey(
      device.credentials.map((c) => ({ ...c, notBefore: toMs(c.notBefore), notAfter: toMs(c.notAfter) })),
    ),
    attributes: device.attributes === undefined ? null : contentKey(device.attributes),
    created_at: toMs(device.createdAt),
    updated_at: toMs(device.updatedAt),
  };
}

function checkpointFromRow(row: CheckpointRow): ImportCheckpoint {
  return {
    jobId: row.job_id,
    source: row.source,
    sourceSha256: row.source_sha256,
    linesDone: row.lines_done,
    inserted: row.inserted,
    unchanged: row.unchanged,
    rejected: row.rejected,
    updatedAt: fromMs(row.updated_at),
  };
}

function checkpointToRow(checkpoint: ImportCheckpoint): CheckpointRow {
  return {
    job_id: checkpoint.jobId,
    source: checkpoint.source,
    source_sha256: checkpoint.sourceSha256,
    lines_done: checkpoint.linesDone,
    inserted: checkpoint.inserted,
    unchanged: checkpoint.unchanged,
    rejected: checkpoint.rejected,
    updated_at: toMs(checkpoint.updatedAt),
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

/** {@link DeviceStore} on SQLite, indexed for a million devices per city. */
export class SqliteDeviceStore implements DeviceStore {
  readonly #lists: StatementCache;
  readonly #select;
  readonly #insert;
  readonly #update;
  readonly #selectCheckpoint;
  readonly #upsertCheckpoint;
  readonly #importBatch;
  readonly #change;

  constructor(
    db: SqliteDatabase,
    private readonly tokens: PageTokenCodec,
  ) {
    this.#lists = new StatementCache(db);
    this.#select = db.prepare<[string, string], DeviceRow>('SELECT * FROM devices WHERE city = ? AND device_id = ?');
    this.#insert = db.prepare<[DeviceRow]>(
      `INSERT INTO devices (city, device_id, type, industry, region_code, owner_org, status, credentials, attributes, created_at, updated_at)
       VALUES (@city, @device_id, @type, @industry, @region_code, @owner_org, @status, @credentials, @attributes, @created_at, @updated_at)
       ON CONFLICT (city, device_id) DO NOTHING`,
    );
    this.#update = db.prepare<[DeviceRow]>(
      `UPDATE devices SET status = @status, credentials = @credentials, updated_at = @updated_at
       WHERE city = @city AND device_id = @device_id`,
    );
    this.#selectCheckpoint = db.prepare<[string], CheckpointRow>(
      'SELECT * FROM device_import_checkpoints WHERE job_id = ?',
    );
    this.#upsertCheckpoint = db.prepare<[CheckpointRow]>(
      `INSERT INTO device_import_checkpoints (job_id, source, source_sha256, lines_done, inserted, unchanged, rejected, updated_at)
       VALUES (@job_id, @source, @source_sha256, @lines_done, @inserted, @unchanged, @rejected, @updated_at)
       ON CONFLICT (job_id) DO UPDATE SET source = excluded.source, source_sha256 = excluded.source_sha256,
         lines_done = excluded.lines_done, inserted = excluded.inserted, unchanged = excluded.unchanged,
         rejected = excluded.rejected, updated_at = excluded.updated_at`,
    );
    // The batch and its checkpoint commit together: after kill -9 either both are in the
    // file or neither is, so a resume from the checkpoint neither skips nor repeats lines.
    this.#importBatch = db.transaction(
      (devices: readonly Device[], progress: ImportProgress | undefined): ImportResult => {
        let inserted = 0;
        let unchanged = 0;
        const conflicts: ImportConflict[] = [];
        for (const device of devices) {
          if (this.#insert.run(toRow(device)).changes === 1) {
            inserted++;
            continue;
          }
          const stored = fromRow(this.#select.get(device.city, device.deviceId) as DeviceRow);
          const differences = deviceDifferences(stored, device);
          if (differences.length === 0) unchanged++;
          else conflicts.push({ deviceId: device.deviceId, reason: `differs in: ${differences.join(', ')}` });
        }
        if (progress === undefined) return { inserted, unchanged, conflicts };
        const previous = this.#selectCheckpoint.get(progress.jobId);
        const checkpoint = advanceCheckpoint(
          previous === undefined ? undefined : checkpointFromRow(previous),
          progress,
          {
            inserted,
            unchanged,
            conflicts: conflicts.length,
          },
        );
        this.#upsertCheckpoint.run(checkpointToRow(checkpoint));
        return { inserted, unchanged, conflicts, checkpoint };
      },
    );
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
    const incoming = devices.map(validateDevice);
    if (progress !== undefined) validateProgress(progress, incoming.length);
    // IMMEDIATE: take the write lock up front, so the checkpoint read cannot go stale.
    return this.#importBatch.immediate(incoming, progress);
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
    this.#upsertCheckpoint.run(checkpointToRow(validateCheckpoint(checkpoint)));
  }

  async getImportCheckpoint(jobId: string): Promise<ImportCheckpoint | undefined> {
    const row = this.#selectCheckpoint.get(jobId);
    return row === undefined ? undefined : checkpointFromRow(row);
  }

  #changeDevice(city: string, deviceId: string, change: (device: Device) => Device): Device {
    return this.#change.immediate(requireText('city', city), requireText('deviceId', deviceId), change);
  }
}
