import type { PublicJwk } from './json.js';
import type { PackedDevices } from './packed-devices.js';
import type { Page, PageRequest } from './paging.js';

/** Device lifecycle; `revoked` is terminal. */
export type DeviceStatus = 'active' | 'suspended' | 'revoked';

/** Most credentials a device may hold at once (current key, next key, one spare for rollover). */
export const MAX_DEVICE_CREDENTIALS = 3;

/** A key a device authenticates with: a raw public key (device-signed JWTs) or a city-CA certificate. */
export type DeviceCredential = {
  /** Unique within the device; used as the JWT `kid`. */
  readonly credentialId: string;
  readonly kind: 'jwk' | 'x509';
  /** Required when `kind` is `jwk`. */
  readonly publicJwk?: PublicJwk;
  /** Lower-case hex SHA-256 of the DER certificate; required when `kind` is `x509`. */
  readonly certificateSha256?: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
};

/** A registered device of one city. */
export type Device = {
  readonly city: string;
  /** Unique within the city. */
  readonly deviceId: string;
  /** Device type from the industry's taxonomy. */
  readonly type: string;
  readonly industry: string;
  /** GB/T 2260 code (6, 9 or 12 digits) of where the device is. */
  readonly regionCode: string;
  readonly ownerOrg: string;
  readonly status: DeviceStatus;
  /** At most {@link MAX_DEVICE_CREDENTIALS}, with distinct `credentialId`s. */
  readonly credentials: readonly DeviceCredential[];
  /** Attributes policy decides on (devices are attributes, never policy lines). */
  readonly attributes?: Readonly<Record<string, string>>;
  readonly createdAt: Date;
  readonly updatedAt: Date;
};

/** Filter for {@link DeviceStore.list} and {@link DeviceStore.count}. */
export type DeviceFilter = {
  readonly city: string;
  readonly industry?: string;
  readonly type?: string;
  /** Digits a region code starts with (`1201` = all of Tianjin's districts). */
  readonly regionPrefix?: string;
  readonly status?: DeviceStatus;
};

/** A device of a batch that was not imported because one with its id differs. */
export type ImportConflict = {
  readonly deviceId: string;
  /** Which fields differ from the stored device, e.g. `differs in: type, credentials`. */
  readonly reason: string;
};

/**
 * Where a resumable import stands. Counts are totals for the job; after a crash the
 * importer skips `linesDone` lines of the source and carries on.
 */
export type ImportCheckpoint = {
  readonly jobId: string;
  /** Where the manifest came from (a path or URL), for operators. */
  readonly source: string;
  /** Hex SHA-256 of the manifest, so a resume refuses a different file. */
  readonly sourceSha256: string;
  /** Lines of the source consumed, whatever their outcome. */
  readonly linesDone: number;
  readonly inserted: number;
  readonly unchanged: number;
  /** Lines refused: invalid lines (counted by the importer) plus conflicts. */
  readonly rejected: number;
  readonly updatedAt: Date;
};

/**
 * Progress a batch adds to its job's checkpoint. The store adds this batch's
 * `inserted`, `unchanged` and conflicts to the totals itself, in the same transaction
 * as the batch, so the totals always equal what was written, even across `kill -9`.
 */
export type ImportProgress = {
  readonly jobId: string;
  readonly source: string;
  readonly sourceSha256: string;
  /** Lines of the source this batch covers (devices plus lines the importer rejected). */
  readonly lines: number;
  /** Lines in this batch's span the importer rejected before calling the store. */
  readonly rejected: number;
  readonly at: Date;
};

/** Outcome of {@link DeviceStore.importBatch}. */
export type ImportResult = {
  readonly inserted: number;
  readonly unchanged: number;
  /** Devices left as stored because the batch's version differs; never overwritten. */
  readonly conflicts: readonly ImportConflict[];
  /** The job's checkpoint after this batch, when progress was given. */
  readonly checkpoint?: ImportCheckpoint;
};

/**
 * The device registry of a city node. Sized for a million devices per city: every
 * filter of `list` and `count` is served by an index.
 */
export interface DeviceStore {
  /**
   * Inserts the devices that are absent, in one transaction (all or nothing). A device
   * equal to the stored one (ignoring `createdAt`/`updatedAt`) counts as `unchanged`; one
   * that differs is reported in `conflicts` and not written. With `progress`, the job's
   * checkpoint is advanced in the same transaction; a resume whose `source` or
   * `sourceSha256` differ from the job's checkpoint fails with `MALFORMED_REQUEST`.
   */
  importBatch(devices: readonly Device[], progress?: ImportProgress): Promise<ImportResult>;

  /**
   * {@link importBatch} for a bulk import: devices the importer's `DeviceChecker` already
   * accepted, packed ({@link PackedDevices}), `active` and created when the batch commits.
   * The store trusts the checks and writes the columns as given; `importBatch` is the path
   * for anything unchecked. Same transaction, checkpoint and conflict rules.
   */
  importCheckedBatch(packed: PackedDevices, progress: ImportProgress): Promise<ImportResult>;

  /** The device, or `undefined` when the city has no device with this id. */
  get(city: string, deviceId: string): Promise<Device | undefined>;

  /**
   * Devices of a city in `deviceId` order; with `regionPrefix`, in (`regionCode`,
   * `deviceId`) order, which is what the region index yields without sorting.
   */
  list(filter: DeviceFilter, page?: PageRequest): Promise<Page<Device>>;

  /** Number of devices matching the filter. */
  count(filter: DeviceFilter): Promise<number>;

  /**
   * Sets the status. Setting the current status is a no-op; leaving `revoked` fails with
   * `DEVICE_REVOKED`; an unknown device with `DEVICE_NOT_FOUND`.
   */
  setStatus(city: string, deviceId: string, status: DeviceStatus, at: Date): Promise<Device>;

  /**
   * Adds a credential. Adding an identical credential again is a no-op; a different one
   * under an existing `credentialId` fails with `ALREADY_EXISTS`; a fourth credential with
   * `MALFORMED_REQUEST`; a revoked device with `DEVICE_REVOKED`.
   */
  addCredential(city: string, deviceId: string, credential: DeviceCredential, at: Date): Promise<Device>;

  /** Removes a credential; an unknown `credentialId` fails with `KEY_NOT_FOUND`. */
  removeCredential(city: string, deviceId: string, credentialId: string, at: Date): Promise<Device>;

  /** Creates or replaces a job's checkpoint (to start a job, or to mark it done). */
  saveImportCheckpoint(checkpoint: ImportCheckpoint): Promise<void>;

  /** The job's checkpoint, or `undefined` for a job never started. */
  getImportCheckpoint(jobId: string): Promise<ImportCheckpoint | undefined>;
}
