import { createHash, X509Certificate } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { formatSpiffeId } from '../../../common/ids/index.js';
import { type Device, type DeviceCredential, MAX_DEVICE_CREDENTIALS } from '../../../common/stores/device-store.js';
import type { PublicJwk } from '../../../common/stores/json.js';
import { type EcKeyPair, fail, issueSpiffeLeaf, parseCsr, verifyCertificatePath } from '../../../trust-anchor/index.js';
import { requireActive } from './device-checks.js';

/** Longest device certificate issued: devices renew less often than nodes, and their status is read on every use anyway. */
export const MAX_DEVICE_CERTIFICATE_LIFETIME_HOURS = 30 * 24;

export interface IssueDeviceCertificateOptions {
  /** The device's PKCS#10 request: its self-signature is the proof of possession. */
  readonly csrPem: string;
  /** The device as the registry holds it now; it must be active. */
  readonly device: Device;
  /** This node's cluster (the city is the device's). */
  readonly cluster: string;
  /** This city's CA and its key, as `cityCaKey` returns them. */
  readonly cityCa: { readonly certificatePem: string; readonly key: { readonly pair: EcKeyPair } };
  /** The pinned cluster roots: the new certificate is verified against them before it is handed out. */
  readonly rootPems: readonly string[];
  readonly now: Date;
  /** At most {@link MAX_DEVICE_CERTIFICATE_LIFETIME_HOURS}; never past the city CA's `notAfter`. */
  readonly lifetimeHours: number;
  /** Id of the credential to register; default `x509-` and the first 16 hex digits of the certificate's SHA-256. */
  readonly credentialId?: string;
  /**
   * Default true: the CSR's key must be one of the device's `jwk` credentials in its window
   * (DeviceService: "a CSR for the device's registered public key"), so a certificate never
   * brings a key the registry did not already trust. False lets an administrator certify a
   * fresh key at provisioning.
   */
  readonly requireRegisteredKey?: boolean;
}

/** A device certificate and the credential that registers it. */
export interface IssuedDeviceCertificate {
  /** The leaf, one PEM block. */
  readonly pem: string;
  /** The leaf then the city CA: what the device presents in its TLS handshakes. */
  readonly chainPem: string;
  /** Lower-case hex SHA-256 of the leaf's DER. */
  readonly certificateSha256: string;
  readonly spiffeId: string;
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** To add with `DeviceStore.addCredential`: its window is the certificate's validity, exactly. */
  readonly credential: DeviceCredential;
}

/**
 * Issues a device an X.509-SVID from this city's CA through `issueSpiffeLeaf`, as apps get
 * theirs (`nodes/apps/app-credentials.ts`): the SPIFFE id
 * `spiffe://<city>.<cluster>.citymesh/device/<id>` as the one URI SAN, no DNS SAN, the
 * CSR's proof of possession checked, a CSR asking for another SPIFFE id refused, and the
 * result verified against the cluster roots before it is returned. The caller stores
 * `credential`; until then the certificate authenticates nothing.
 *
 * The trust anchor's `device` leaf profile (device-identity.md §5.5): a P-256 or Ed25519 key
 * (the leaf is signed by the city CA's P-256 key either way), EKU clientAuth only, so a device
 * certificate can never serve TLS nor pass for a node SVID.
 *
 * @throws MeshError `DEVICE_NOT_FOUND`/`DEVICE_SUSPENDED`/`DEVICE_REVOKED` (device not active),
 *   `MALFORMED_REQUEST` (CSR: rules `pem`, `der`, `signature`, `key-algorithm`, `csr-spiffe-id`;
 *   `lifetime`; `credentials-full`; `csr-key-unregistered`), `CERTIFICATE_NAME_CONSTRAINT` (the CA may not name the
 *   device: another city), `INVALID_IDENTIFIER` (a device id that cannot be a SPIFFE segment),
 *   `CERTIFICATE_EXPIRED` (the city CA is not valid at `now`)
 */
export async function issueDeviceCertificate(options: IssueDeviceCertificateOptions): Promise<IssuedDeviceCertificate> {
  const { device, now, lifetimeHours } = options;
  requireActive(device, device.city, device.deviceId);
  if (
    typeof lifetimeHours !== 'number' ||
    !(lifetimeHours > 0) ||
    lifetimeHours > MAX_DEVICE_CERTIFICATE_LIFETIME_HOURS
  ) {
    throw fail(
      'MALFORMED_REQUEST',
      'lifetime',
      `lifetimeHours must be more than 0 and at most ${MAX_DEVICE_CERTIFICATE_LIFETIME_HOURS}`,
      {
        field: 'lifetimeHours',
      },
    );
  }
  if (device.credentials.length >= MAX_DEVICE_CREDENTIALS) {
    // Refused before signing: the certificate could not be registered, so it would authenticate nothing.
    throw fail(
      'MALFORMED_REQUEST',
      'credentials-full',
      `device ${device.deviceId} already holds ${MAX_DEVICE_CREDENTIALS} credentials; remove one first`,
      {
        field: 'device',
      },
    );
  }
  const spiffeId = formatSpiffeId({
    cluster: options.cluster,
    city: device.city,
    kind: 'device',
    name: device.deviceId,
  });
  const csr = await parseCsr(options.csrPem, { profile: 'device' });
  if (options.requireRegisteredKey !== false) await requireRegisteredKey(device, csr.kid, now);
  const leaf = await issueSpiffeLeaf({
    csrPem: options.csrPem,
    spiffeId,
    issuerCertPem: options.cityCa.certificatePem,
    issuerKeys: options.cityCa.key.pair,
    now,
    lifetimeHours,
    profile: 'device',
  });
  verifyCertificatePath({
    leafPem: leaf.pem,
    chainPems: [options.cityCa.certificatePem],
    rootPems: options.rootPems,
    now,
    profile: 'device',
    expected: { spiffeId },
  });
  const certificateSha256 = createHash('sha256').update(new X509Certificate(leaf.pem).raw).digest('hex');
  const credential: DeviceCredential = {
    credentialId: options.credentialId ?? `x509-${certificateSha256.slice(0, 16)}`,
    kind: 'x509',
    certificateSha256,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
  };
  return Object.freeze({
    pem: leaf.pem,
    chainPem: `${leaf.pem}${options.cityCa.certificatePem}`,
    certificateSha256,
    spiffeId,
    serial: leaf.serial,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    credential: Object.freeze(credential),
  });
}

/** The RFC 7638 members of a P-256 or Ed25519 JWK, or undefined for any other key. */
function thumbprintMembers(jwk: PublicJwk): JWK | undefined {
  if (typeof jwk.x !== 'string') return undefined;
  if (jwk.kty === 'EC' && jwk.crv === 'P-256' && typeof jwk.y === 'string') {
    return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  }
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  return undefined;
}

/** The CSR's key (by RFC 7638 thumbprint) must be a `jwk` credential of the device, in its window. */
async function requireRegisteredKey(device: Device, thumbprint: string, now: Date): Promise<void> {
  for (const credential of device.credentials) {
    const jwk = credential.publicJwk;
    if (credential.kind !== 'jwk' || jwk === undefined) continue;
    if (now < credential.notBefore || now >= credential.notAfter) continue;
    const members = thumbprintMembers(jwk);
    if (members !== undefined && (await calculateJwkThumbprint(members, 'sha256')) === thumbprint) return;
  }
  throw new MeshError(
    'MALFORMED_REQUEST',
    `csrPem is for a key that is not a current credential of device ${device.deviceId}; register the key first`,
    { details: { field: 'csrPem', rule: 'csr-key-unregistered', thumbprint } },
  );
}
