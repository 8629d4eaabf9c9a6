import { createHash, X509Certificate } from 'node:crypto';
import { MeshError } from '../../../common/errors/mesh-error.js';
import type { Device } from '../../../common/stores/device-store.js';
import { fail, type VerifiedCertificatePath, verifyCertificatePath } from '../../../trust-anchor/index.js';
import {
  checkCredentialWindow,
  type DeviceLookup,
  type DeviceRealm,
  deviceIdOf,
  deviceIdPrefix,
  requireActive,
} from './device-checks.js';

export interface AuthenticateDeviceCertificateOptions extends DeviceRealm {
  /**
   * This city's current CA certificates (its member entry's `ca_certificates`): the leaf
   * must be issued by one of them. Intermediates the device presents are ignored, as for apps.
   */
  readonly cityCaPems: readonly string[];
  /** The pinned cluster roots. */
  readonly rootPems: readonly string[];
  /** Certificate serials revoked in the cluster metadata. */
  readonly revokedSerials?: Iterable<string>;
  /** Reads the device on every call (the DeviceStore's `get`). */
  readonly lookup: DeviceLookup;
  readonly now: Date;
}

/** A device authenticated by its certificate. */
export interface CertificateAuthenticatedDevice {
  /** The device as the registry holds it now: active. */
  readonly device: Device;
  readonly spiffeId: string;
  /** The x509 credential the certificate matched. */
  readonly credentialId: string;
  /** The certificate's end, or the credential's when that comes first. */
  readonly expiresAt: Date;
  readonly path: VerifiedCertificatePath;
}

/**
 * Authenticates a device by the certificate chain it presented (mTLS, leaf first, PEM or
 * DER as grpc-js hands it over), in order (device-identity.md §5.5):
 * 1. the leaf parses (`CERTIFICATE_INVALID`, `malformed`) and does not name a device of
 *    another city (`DEVICE_WRONG_CITY`, `device-city`; decided before any signature, since it
 *    is refused either way);
 * 2. its path verifies to a pinned root through one of this city's CAs
 *    (`verifyCertificatePath` with the `device` leaf profile: signatures, validity, revoked
 *    serials, EKU clientAuth without serverAuth, a P-256 or Ed25519 key, name constraints,
 *    this cluster and city), and names a device (`PEER_IDENTITY_MISMATCH`, `device-kind`,
 *    also refused up front for a leaf that names another kind);
 * 3. the device exists and is active (`DEVICE_NOT_FOUND`, `DEVICE_SUSPENDED`, `DEVICE_REVOKED`);
 * 4. the leaf's SHA-256 is one of the device's x509 credentials (`CERTIFICATE_INVALID`,
 *    `credential-unknown`: removing the credential withdraws the certificate at once), within
 *    its window (`CERTIFICATE_EXPIRED`, `credential-not-yet-valid` / `credential-expired`).
 *
 * The path costs ~3 ms (mostly decoding the leaf): cache the verified path per connection,
 * never the device's status.
 */
export async function authenticateDeviceCertificate(
  chain: readonly (string | Uint8Array)[],
  options: AuthenticateDeviceCertificateOptions,
): Promise<CertificateAuthenticatedDevice> {
  if (chain.length === 0) throw fail('CREDENTIALS_MISSING', 'no-certificate', 'the device presented no certificate');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(chain[0]!);
  } catch (err) {
    throw fail(
      'CERTIFICATE_INVALID',
      'malformed',
      'the presented leaf is not an X.509 certificate',
      { certificate: 'leaf' },
      err,
    );
  }
  const uris = (leaf.subjectAltName ?? '').split(', ').filter((name) => name.startsWith('URI:'));
  const name = uris.length === 1 ? uris[0]!.slice('URI:'.length) : undefined;
  // Unverified: only to refuse, for what it is, a device of another city or a leaf naming
  // another kind (a node or app SVID). Anything else odd about the name is left to the path
  // verification, which reads it from the verified leaf.
  try {
    deviceIdOf(name, options, deviceIdPrefix(options), {
      code: 'PEER_IDENTITY_MISMATCH',
      rule: 'device-kind',
      what: 'the leaf URI SAN',
    });
  } catch (err) {
    if (err instanceof MeshError && (err.code === 'DEVICE_WRONG_CITY' || err.details.kind !== undefined)) throw err;
  }
  // The device profile admits device SPIFFE ids only (`leaf-profile`): the path names a device.
  const path = verifyPath(leaf.toString(), options);
  const device = requireActive(await options.lookup(options.city, path.name), options.city, path.name);
  const sha256 = createHash('sha256').update(leaf.raw).digest('hex');
  const credential = device.credentials.find((c) => c.kind === 'x509' && c.certificateSha256 === sha256);
  if (credential === undefined) {
    throw fail(
      'CERTIFICATE_INVALID',
      'credential-unknown',
      `the certificate is not a registered credential of device ${path.name}`,
      {
        certificate: 'leaf',
        certificateSha256: sha256,
      },
    );
  }
  checkCredentialWindow(credential, options.now.getTime(), 'CERTIFICATE_EXPIRED');
  const expiresAt = new Date(Math.min(path.notAfter.getTime(), credential.notAfter.getTime()));
  return Object.freeze({ device, spiffeId: path.spiffeId, credentialId: credential.credentialId, expiresAt, path });
}

/** Tries each current city CA; a failure other than "not this CA" ends the search, as for apps (`caller.ts`). */
function verifyPath(leafPem: string, options: AuthenticateDeviceCertificateOptions): VerifiedCertificatePath {
  // An iterable may be good for one pass only; every CA tried needs all of it.
  const revoked = options.revokedSerials === undefined ? undefined : [...options.revokedSerials];
  let lastError: unknown;
  for (const caPem of options.cityCaPems) {
    try {
      return verifyCertificatePath({
        leafPem,
        chainPems: [caPem],
        rootPems: options.rootPems,
        now: options.now,
        ...(revoked === undefined ? {} : { revokedSerials: revoked }),
        profile: 'device',
        expected: { cluster: options.cluster, city: options.city },
      });
    } catch (err) {
      lastError = err;
      if (!(err instanceof MeshError) || err.code !== 'CERTIFICATE_INVALID') throw err;
    }
  }
  throw (
    lastError ??
    fail('CERTIFICATE_INVALID', 'no-city-ca', `${options.city} has no current CA to verify the certificate with`)
  );
}
