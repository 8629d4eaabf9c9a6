import { MeshError } from '../../common/errors/mesh-error.js';
import { x509 } from './provider.js';
import { canonicalSerial, randomSerial } from './serial.js';

/**
 * Issued certificates start this long before `now`: OpenSSL (Node's TLS) applies no
 * leeway to `notBefore`, so a peer whose clock is a little behind would otherwise refuse
 * a certificate minted a moment ago.
 */
export const NOT_BEFORE_BACKDATE_SECONDS = 60;

/** Default leeway of {@link verifyCertificatePath} for validity windows. */
export const DEFAULT_LEEWAY_SECONDS = 60;

/** OIDs of the extensions this folder reads. */
export const OID = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  nameConstraints: '2.5.29.30',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: x509.ExtendedKeyUsage.serverAuth,
  clientAuth: x509.ExtendedKeyUsage.clientAuth,
} as const;

/** What every issuing function returns. */
export interface IssuedCertificate {
  /** The certificate, one PEM block. */
  readonly pem: string;
  /** Canonical serial: lowercase hex, no leading zeros (see `canonicalSerial`). */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The subject DN as RFC 4514 text. */
  readonly subject: string;
}

/** Throws a TypeError naming the option unless `value` is a valid Date. */
export function requireDate(value: unknown, option: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new TypeError(`${option} must be a valid Date`);
  }
  return value;
}

/** Throws a TypeError naming the option unless `value` is a finite number > 0. */
export function requirePositive(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${option} must be a positive number`);
  }
  return value;
}

/** X.509 times have whole seconds (RFC 5280 §4.1.2.5): round down so returned dates equal the encoded ones. */
export function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

/**
 * The validity of a new certificate: from `now` minus the backdate to `now + lifetimeMs`,
 * never past `capAt` (the issuer's `notAfter`: RFC 5280 does not forbid outliving the
 * issuer, but such a certificate would fail path validation from then on).
 */
export function validityWindow(now: Date, lifetimeMs: number, capAt?: Date): { notBefore: Date; notAfter: Date } {
  const notBefore = wholeSeconds(now.getTime() - NOT_BEFORE_BACKDATE_SECONDS * 1000);
  const wanted = now.getTime() + lifetimeMs;
  const notAfter = wholeSeconds(capAt === undefined ? wanted : Math.min(wanted, capAt.getTime()));
  return { notBefore, notAfter };
}

/** The serial to encode: the caller's (checked) or a fresh random one. */
export function serialFor(serial: string | undefined): string {
  if (serial === undefined) return randomSerial();
  const canonical = canonicalSerial(serial, 'serial');
  // Re-pad to whole octets; @peculiar/x509 adds the 0x00 sign octet where needed.
  return canonical.length % 2 === 0 ? canonical : `0${canonical}`;
}

/** Builds the result record from a freshly signed certificate. */
export function issued(cert: x509.X509Certificate): IssuedCertificate {
  return Object.freeze({
    pem: `${cert.toString('pem')}\n`,
    serial: canonicalSerial(cert.serialNumber),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    subject: cert.subject,
  });
}

/** A MeshError for an issuance the issuer refuses to perform. */
export function refuse(
  code: 'MALFORMED_REQUEST' | 'CERTIFICATE_NAME_CONSTRAINT' | 'CERTIFICATE_EXPIRED',
  message: string,
  details: Record<string, string>,
): MeshError {
  return new MeshError(code, message, { details });
}
