import { requirePattern, requireString } from './identifier-error.js';

declare const deviceIdBrand: unique symbol;

/** A device id, unique within its city (`cam-0001`, `urn:gb28181:34020000001320000001`). */
export type DeviceId = string & { readonly [deviceIdBrand]: true };

/**
 * Device ids come from manufacturers and existing registries, so they allow `:` (URNs,
 * GB/T 28181 ids with prefixes) besides the SPIFFE segment characters. An id with `:`
 * cannot appear in a SPIFFE ID, which forbids `:` in path segments (SPIFFE-ID §2.2).
 */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Parses a device id. @throws MeshError `INVALID_IDENTIFIER` (rules `type`, `pattern`) */
export function parseDeviceId(input: unknown, field = 'deviceId'): DeviceId {
  return requirePattern(requireString(input, field), DEVICE_ID_PATTERN, field) as DeviceId;
}

/** True when `input` is a valid device id. */
export function isDeviceId(input: unknown): input is DeviceId {
  return typeof input === 'string' && DEVICE_ID_PATTERN.test(input);
}
