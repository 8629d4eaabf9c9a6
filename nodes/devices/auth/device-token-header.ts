import { checkPinnedHeader, type HeaderProfile } from '../../oidc/token-rules.js';

/** `typ` of a device-signed JWT (device-identity.md §5.1): no other token kind passes as one. */
export const DEVICE_TOKEN_TYP = 'citymesh-device+jwt';

/** The algorithms a device may sign with; which one a token may use follows from its credential's key. */
export type DeviceTokenAlg = 'ES256' | 'EdDSA';

/** What the header rules leave for the credential rules: the algorithm and the credential it names. */
export interface DeviceTokenHeader {
  readonly alg: DeviceTokenAlg;
  readonly kid: string;
}

const PROFILE: HeaderProfile = {
  algs: new Set<DeviceTokenAlg>(['ES256', 'EdDSA']),
  typ: DEVICE_TOKEN_TYP,
  token: 'a device token',
  keySource: 'the device registry',
};

/**
 * The header rules of device-identity.md §5.2 (4–9): the algorithm allowlist here is the
 * union of what device keys allow; the rule that pins it to the named credential's key
 * type runs once that credential is known.
 *
 * @throws MeshError as `checkPinnedHeader`
 */
export function checkDeviceTokenHeader(header: Record<string, unknown>): DeviceTokenHeader {
  return checkPinnedHeader(header, PROFILE) as DeviceTokenHeader;
}
