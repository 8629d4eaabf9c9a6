import type { ErrorCode } from '../../../common/errors/registry.js';
import {
  DEVICE_ID_PATTERN,
  formatTrustDomain,
  parseSpiffeId,
  SPIFFE_SCHEME_PREFIX,
} from '../../../common/ids/index.js';
import type { Device, DeviceCredential } from '../../../common/stores/device-store.js';
import { fail } from '../../../trust-anchor/index.js';

/**
 * Reads a device of this node's city. Called on every authentication, uncached, so that a
 * suspension or revocation written to the store is seen by the next call on every node of
 * the city (device-identity.md §5.3). The DeviceStore's `get` fits.
 */
export type DeviceLookup = (city: string, deviceId: string) => Promise<Device | undefined> | Device | undefined;

/** Where this node stands: its cluster and city, whose devices alone it authenticates. */
export interface DeviceRealm {
  readonly cluster: string;
  readonly city: string;
}

/** `spiffe://<city>.<cluster>.citymesh/device/`: what every SPIFFE id of a device of this city starts with. */
export function deviceIdPrefix(realm: DeviceRealm): string {
  return `${SPIFFE_SCHEME_PREFIX}${formatTrustDomain(realm.cluster, realm.city)}/device/`;
}

/**
 * The device id a SPIFFE id names, for a device of this realm. The common case (the
 * canonical prefix, then a device id that is a SPIFFE segment) is decided without the full
 * parser; anything else is parsed, to refuse it for what it is.
 *
 * @param malformed the code and rule for an id that is not a device SPIFFE id at all
 * @throws MeshError `DEVICE_WRONG_CITY` (rule `device-city`) for a device of another city or cluster
 */
export function deviceIdOf(
  spiffeId: unknown,
  realm: DeviceRealm,
  prefix: string,
  malformed: { readonly code: ErrorCode; readonly rule: string; readonly what: string },
): string {
  if (typeof spiffeId === 'string' && spiffeId.startsWith(prefix)) {
    const name = spiffeId.slice(prefix.length);
    // SPIFFE-ID §2.2: no ":" in a segment; the pattern already excludes "/", "." and "..".
    if (DEVICE_ID_PATTERN.test(name) && !name.includes(':')) return name;
  }
  let id: ReturnType<typeof parseSpiffeId>;
  try {
    id = parseSpiffeId(spiffeId, malformed.what);
  } catch (err) {
    throw fail(malformed.code, malformed.rule, `${malformed.what} is not a citymesh SPIFFE id`, {}, err);
  }
  if (id.kind !== 'device') {
    throw fail(malformed.code, malformed.rule, `${malformed.what} names a ${id.kind}, not a device`, { kind: id.kind });
  }
  if (id.city !== realm.city || id.cluster !== realm.cluster) {
    throw fail(
      'DEVICE_WRONG_CITY',
      'device-city',
      `device ${id.uri} belongs to ${id.city} (${id.cluster}); this node authenticates devices of ${realm.city} (${realm.cluster})`,
      { city: id.city, cluster: id.cluster },
    );
  }
  return id.name;
}

/**
 * The device, active: absent, suspended and revoked devices are refused with their own codes.
 *
 * @throws MeshError `DEVICE_NOT_FOUND` (`device-unknown`), `DEVICE_SUSPENDED` (`device-suspended`),
 *   `DEVICE_REVOKED` (`device-revoked`)
 */
export function requireActive(device: Device | undefined, city: string, deviceId: string): Device {
  if (device === undefined || device.city !== city || device.deviceId !== deviceId) {
    throw fail('DEVICE_NOT_FOUND', 'device-unknown', `${city} has no device ${deviceId}`, { deviceId });
  }
  if (device.status === 'suspended') {
    throw fail('DEVICE_SUSPENDED', 'device-suspended', `device ${deviceId} is suspended`, { deviceId });
  }
  if (device.status !== 'active') {
    throw fail('DEVICE_REVOKED', 'device-revoked', `device ${deviceId} is revoked`, { deviceId });
  }
  return device;
}

/**
 * A credential is good from its `notBefore` to its `notAfter`, by this node's clock: both
 * ends are registry data, so no device clock skew applies.
 *
 * @throws MeshError with `code` (rules `credential-not-yet-valid`, `credential-expired`)
 */
export function checkCredentialWindow(credential: DeviceCredential, nowMs: number, code: ErrorCode): void {
  if (nowMs < credential.notBefore.getTime()) {
    throw fail(
      code,
      'credential-not-yet-valid',
      `credential "${credential.credentialId}" is valid from ${credential.notBefore.toISOString()}`,
      {
        kid: credential.credentialId,
        notBefore: credential.notBefore.toISOString(),
      },
    );
  }
  if (nowMs >= credential.notAfter.getTime()) {
    throw fail(
      code,
      'credential-expired',
      `credential "${credential.credentialId}" ended at ${credential.notAfter.toISOString()}`,
      {
        kid: credential.credentialId,
        notAfter: credential.notAfter.toISOString(),
      },
    );
  }
}
