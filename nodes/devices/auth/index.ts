/**
 * Device authentication (issue 7, device-identity.md §5): device-signed JWTs and device
 * X.509-SVIDs from the city CA. A library: the node's DeviceService wires it in.
 *
 * @packageDocumentation
 */
export {
  type AuthenticateDeviceCertificateOptions,
  authenticateDeviceCertificate,
  type CertificateAuthenticatedDevice,
} from './authenticate-device-certificate.js';
export type { DeviceLookup, DeviceRealm } from './device-checks.js';
export { DEFAULT_DEVICE_KEY_CACHE_ENTRIES } from './device-keys.js';
export { type DeviceTokenClaims, MAX_DEVICE_TOKEN_JTI_LENGTH } from './device-token-claims.js';
export { DEVICE_TOKEN_TYP, type DeviceTokenAlg } from './device-token-header.js';
export {
  type AuthenticatedDevice,
  DeviceTokenVerifier,
  type DeviceTokenVerifierOptions,
  MAX_DEVICE_TOKEN_BYTES,
  MAX_DEVICE_TOKEN_LEEWAY_SECONDS,
  MAX_DEVICE_TOKEN_LIFETIME_SECONDS,
} from './device-token-verifier.js';
export {
  type IssueDeviceCertificateOptions,
  type IssuedDeviceCertificate,
  issueDeviceCertificate,
  MAX_DEVICE_CERTIFICATE_LIFETIME_HOURS,
} from './issue-device-certificate.js';
