import { Buffer } from 'node:buffer';
import type { EcKeyPair } from './keys.js';
import { type NameConstraintSet, readNameConstraints } from './name-constraints.js';
import { decodeSinglePem, PEM_LABEL } from './pem.js';
import { OID, refuse } from './profile.js';
import { subtle, x509 } from './provider.js';

/** A CA certificate with its private key, checked and ready to sign. */
export interface LoadedIssuer {
  readonly cert: x509.X509Certificate;
  readonly keys: EcKeyPair;
  readonly pathLength: number | undefined;
  readonly nameConstraints: NameConstraintSet | null;
  /** The AKI extension every certificate it signs carries (RFC 5280 §4.2.1.1). */
  readonly authorityKeyIdentifier: x509.AuthorityKeyIdentifierExtension;
}

/**
 * Loads the issuer of a new certificate and refuses to sign with one that could not
 * produce a valid path: not a CA, no keyCertSign, a key that is not the certificate's,
 * or outside its own validity at `now`.
 *
 * @throws MeshError `MALFORMED_REQUEST` (rules `pem`, `der`, `issuer-not-ca`, `issuer-key-usage`,
 *   `issuer-key-mismatch`) or `CERTIFICATE_EXPIRED` (rule `issuer-validity`)
 */
export async function loadIssuer(issuerCertPem: string, issuerKeys: EcKeyPair, now: Date): Promise<LoadedIssuer> {
  const field = 'issuerCertPem';
  const der = decodeSinglePem(issuerCertPem, PEM_LABEL.certificate, { field, code: 'MALFORMED_REQUEST' });
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(der);
  } catch {
    throw refuse('MALFORMED_REQUEST', `${field} is not a DER X.509 certificate`, { field, rule: 'der' });
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (bc === null || !bc.ca) {
    throw refuse('MALFORMED_REQUEST', `${field} is not a CA certificate (basicConstraints cA is not true)`, {
      field,
      rule: 'issuer-not-ca',
    });
  }
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (ku === null || (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw refuse('MALFORMED_REQUEST', `${field} does not allow keyCertSign`, { field, rule: 'issuer-key-usage' });
  }
  const spki = Buffer.from(await subtle.exportKey('spki', issuerKeys.publicKey));
  if (!spki.equals(Buffer.from(cert.publicKey.rawData))) {
    throw refuse('MALFORMED_REQUEST', `issuerKeys are not the key pair of ${field}`, {
      field: 'issuerKeys',
      rule: 'issuer-key-mismatch',
    });
  }
  if (now < cert.notBefore || now > cert.notAfter) {
    throw refuse(
      'CERTIFICATE_EXPIRED',
      `${field} is not valid at ${now.toISOString()} (valid ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`,
      {
        field,
        rule: 'issuer-validity',
      },
    );
  }
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const authorityKeyIdentifier =
    ski === null
      ? await x509.AuthorityKeyIdentifierExtension.create(cert, false)
      : new x509.AuthorityKeyIdentifierExtension(ski.keyId, false);
  return {
    cert,
    keys: issuerKeys,
    pathLength: bc.pathLength,
    nameConstraints: cert.getExtension(OID.nameConstraints) === null ? null : readNameConstraints(cert),
    authorityKeyIdentifier,
  };
}
