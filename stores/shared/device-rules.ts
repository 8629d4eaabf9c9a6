import { contentKey } from '../../common/content-key.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import {
  type Device,
  type DeviceCredential,
  type DeviceFilter,
  type DeviceStatus,
  type ImportCheckpoint,
  type ImportProgress,
  MAX_DEVICE_CREDENTIALS,
} from '../../common/stores/device-store.js';
import { clone } from './clone.js';
import {
  malformed,
  requireDate,
  requireHex64,
  requireInteger,
  requireOneOf,
  requirePlainObject,
  requireRegionPrefix,
  requireText,
} from './validate.js';

export const DEVICE_STATUSES: readonly DeviceStatus[] = ['active', 'suspended', 'revoked'];

/** Checks a credential's shape and returns a normalised copy. */
export function validateCredential(credential: DeviceCredential, field = 'credential'): DeviceCredential {
  checkCredentialShape(credential, field);
  return clone(credential);
}

function checkCredentialShape(credential: DeviceCredential, field: string): void {
  requireText(`${field}.credentialId`, credential.credentialId);
  const kind = requireOneOf(`${field}.kind`, credential.kind, ['jwk', 'x509'] as const);
  if (kind === 'jwk')
    requireText(`${field}.publicJwk.kty`, requirePlainObject(`${field}.publicJwk`, credential.publicJwk).kty);
  if (kind === 'x509') requireHex64(`${field}.certificateSha256`, credential.certificateSha256);
  const notBefore = requireDate(`${field}.notBefore`, credential.notBefore);
  const notAfter = requireDate(`${field}.notAfter`, credential.notAfter);
  if (notAfter.getTime() < notBefore.getTime()) malformed(`${field}.notAfter`, 'must not be before notBefore');
}

/**
 * Checks a device's shape and returns a normalised copy: no `undefined` members and no
 * empty `attributes` (absent and `{}` mean the same, so they compare equal on re-import).
 */
export function validateDevice(device: Device): Device {
  checkDevice(device);
  const copy = clone(device);
  if (copy.attributes !== undefined && Object.keys(copy.attributes).length === 0) {
    const { attributes: _empty, ...rest } = copy;
    return rest;
  }
  return copy;
}

/**
 * The checks of {@link validateDevice} without the copy, for a store that encodes the
 * device into its columns at once (the copy would be garbage a moment later).
 */
export function checkDevice(device: Device): void {
  requireText('city', device.city);
  requireText('deviceId', device.deviceId);
  requireText('type', device.type);
  requireText('industry', device.industry);
  requireText('regionCode', device.regionCode);
  requireText('ownerOrg', device.ownerOrg);
  requireOneOf('status', device.status, DEVICE_STATUSES);
  if (!Array.isArray(device.credentials)) malformed('credentials', 'must be an array');
  checkCredentialSet(device.deviceId, device.credentials);
  device.credentials.forEach((credential, i) => {
    checkCredentialShape(credential, `credentials[${i}]`);
  });
  if (device.attributes !== undefined) {
    for (const [name, value] of Object.entries(requirePlainObject('attributes', device.attributes))) {
      if (typeof value !== 'string') malformed(`attributes.${name}`, 'must be a string');
    }
  }
  requireDate('createdAt', device.createdAt);
  requireDate('updatedAt', device.updatedAt);
}

function checkCredentialSet(deviceId: string, credentials: readonly DeviceCredential[]): void {
  if (credentials.length > MAX_DEVICE_CREDENTIALS) {
    throw new MeshError('MALFORMED_REQUEST', `device ${deviceId}: at most ${MAX_DEVICE_CREDENTIALS} credentials`, {
      details: { field: 'credentials', deviceId, limit: MAX_DEVICE_CREDENTIALS },
    });
  }
  const ids = new Set(credentials.map((c) => c.credentialId));
  if (ids.size !== credentials.length) malformed('credentials', `device ${deviceId}: credentialIds must be distinct`);
}

const COMPARED_FIELDS = ['type', 'industry', 'regionCode', 'ownerOrg', 'status', 'credentials', 'attributes'] as const;

/**
 * Fields in which two versions of a device differ, ignoring `createdAt`/`updatedAt`
 * (a re-import of the same manifest line at a later time is the same device).
 */
export function deviceDifferences(stored: Device, incoming: Device): string[] {
  return COMPARED_FIELDS.filter((field) => contentKey(stored[field] ?? {}) !== contentKey(incoming[field] ?? {}));
}

/** The device with `status`, or the device itself when nothing changes. */
export function changeDeviceStatus(device: Device, status: DeviceStatus, at: Date): Device {
  requireOneOf('status', status, DEVICE_STATUSES);
  requireDate('at', at);
  if (device.status === status) return device;
  if (device.status === 'revoked') throw deviceRevoked(device);
  return { ...device, status, updatedAt: at };
}

/** The device with `credential` added, or the device itself when it already holds the identical credential. */
export function addDeviceCredential(device: Device, credential: DeviceCredential, at: Date): Device {
  const incoming = validateCredential(credential);
  requireDate('at', at);
  if (device.status === 'revoked') throw deviceRevoked(device);
  const existing = device.credentials.find((c) => c.credentialId === incoming.credentialId);
  if (existing !== undefined) {
    if (contentKey(existing) === contentKey(incoming)) return device;
    throw new MeshError(
      'ALREADY_EXISTS',
      `device ${device.deviceId} already has a different credential ${incoming.credentialId}`,
      {
        details: { deviceId: device.deviceId, credentialId: incoming.credentialId },
      },
    );
  }
  const credentials = [...device.credentials, incoming];
  checkCredentialSet(device.deviceId, credentials);
  return { ...device, credentials, updatedAt: at };
}

/** The device without the credential; `KEY_NOT_FOUND` when it has no such credential. */
export function removeDeviceCredential(device: Device, credentialId: string, at: Date): Device {
  requireDate('at', at);
  const credentials = device.credentials.filter((c) => c.credentialId !== credentialId);
  if (credentials.length === device.credentials.length) {
    throw new MeshError('KEY_NOT_FOUND', `device ${device.deviceId} has no credential ${credentialId}`, {
      details: { deviceId: device.deviceId, credentialId },
    });
  }
  return { ...device, credentials, updatedAt: at };
}

/** A checked filter plus the region range it implies. */
export type CheckedDeviceFilter = {
  readonly filter: DeviceFilter;
  readonly region?: { readonly low: string; readonly high: string };
};

export function checkDeviceFilter(filter: DeviceFilter): CheckedDeviceFilter {
  requireText('city', filter.city);
  if (filter.status !== undefined) requireOneOf('status', filter.status, DEVICE_STATUSES);
  const clean = clone(filter);
  return filter.regionPrefix === undefined
    ? { filter: clean }
    : { filter: clean, region: requireRegionPrefix('regionPrefix', filter.regionPrefix) };
}

export function validateCheckpoint(checkpoint: ImportCheckpoint): ImportCheckpoint {
  requireText('jobId', checkpoint.jobId);
  requireText('source', checkpoint.source);
  requireHex64('sourceSha256', checkpoint.sourceSha256);
  for (const field of ['linesDone', 'inserted', 'unchanged', 'rejected'] as const)
    requireInteger(field, checkpoint[field], 0);
  requireDate('updatedAt', checkpoint.updatedAt);
  return clone(checkpoint);
}

/** Checks progress for a batch of `deviceCount` devices: its lines must cover the devices and the rejected lines. */
export function validateProgress(progress: ImportProgress, deviceCount: number): ImportProgress {
  requireText('progress.jobId', progress.jobId);
  requireText('progress.source', progress.source);
  requireHex64('progress.sourceSha256', progress.sourceSha256);
  requireInteger(
    'progress.lines',
    progress.lines,
    deviceCount + requireInteger('progress.rejected', progress.rejected, 0),
  );
  requireDate('progress.at', progress.at);
  return progress;
}

/**
 * The job's checkpoint after a batch: previous totals plus this batch's outcome.
 * Conflicts count as rejected lines. A resume against another manifest is refused.
 */
export function advanceCheckpoint(
  previous: ImportCheckpoint | undefined,
  progress: ImportProgress,
  outcome: { readonly inserted: number; readonly unchanged: number; readonly conflicts: number },
): ImportCheckpoint {
  if (
    previous !== undefined &&
    (previous.source !== progress.source || previous.sourceSha256 !== progress.sourceSha256)
  ) {
    throw new MeshError('MALFORMED_REQUEST', `import job ${progress.jobId} was started from another manifest`, {
      details: { field: 'progress.sourceSha256', jobId: progress.jobId, expected: previous.sourceSha256 },
    });
  }
  return {
    jobId: progress.jobId,
    source: progress.source,
    sourceSha256: progress.sourceSha256,
    linesDone: (previous?.linesDone ?? 0) + progress.lines,
    inserted: (previous?.inserted ?? 0) + outcome.inserted,
    unchanged: (previous?.unchanged ?? 0) + outcome.unchanged,
    rejected: (previous?.rejected ?? 0) + progress.rejected + outcome.conflicts,
    updatedAt: progress.at,
  };
}

export function deviceNotFound(city: string, deviceId: string): MeshError {
  return new MeshError('DEVICE_NOT_FOUND', `city ${city} has no device ${deviceId}`, { details: { city, deviceId } });
}

function deviceRevoked(device: Device): MeshError {
  return new MeshError('DEVICE_REVOKED', `device ${device.deviceId} is revoked; revocation is final`, {
    details: { city: device.city, deviceId: device.deviceId },
  });
}
