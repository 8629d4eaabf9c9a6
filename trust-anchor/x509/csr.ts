import { createPublicKey, verify as verifySignature } from 'node:crypto';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { EcKeyPair } from './keys.js';
import { keyIdOf } from './keys.js';
import { LEAF_PROFILES, type LeafProfile, leafProfileOf } from './leaf-profile.js';
import { checkDnsNames, parseCertificateSpiffeUri } from './names.js';
import { decodeSinglePem, isSingleDerSequence, PEM_LABEL } from './pem.js';
import { OID } from './profile.js';
import { type CryptoKey, SIGNING_ALGORITHM, x509 } from './provider.js';
import { importSubjectKey, type SubjectKeyAlgorithm } from './subject-key.js';

/** Options of {@link createCsr}. */
export interface CreateCsrOptions {
  /**
   * The key pair the certificate will be for, P-256 or Ed25519 (devices); the CSR is signed
   * with its private key (proof of possession).
   */
  readonly keys: Pick<EcKeyPair, 'privateKey' | 'publicKey'>;
  /** Subject common name, 1–64 characters (RFC 5280 ub-common-name). Informational only. */
  readonly subjectCn: string;
  /** The SPIFFE ID requested: a workload ID for a leaf, or `spiffe://<trust domain>` for a city CA. */
  readonly spiffeId?: string;
  /** DNS names requested, e.g. `localhost` for a node that grpc-js dials by that name. */
  readonly dnsNames?: readonly string[];
}

/** A PKCS#10 request whose self-signature verified. */
export interface ParsedCsr {
  readonly pem: string;
  /** The subject DN as RFC 4514 text. */
  readonly subject: string;
  readonly subjectCn: string | null;
  /** The public key being certified (extractable, `verify`). */
  readonly publicKey: CryptoKey;
  readonly keyAlgorithm: SubjectKeyAlgorithm;
  /** RFC 7638 thumbprint of {@link publicKey}. */
  readonly kid: string;
  /** URI SANs requested in the `extensionRequest` attribute (RFC 2985 §5.4.2). */
  readonly uris: readonly string[];
  /** DNS SANs requested. */
  readonly dnsNames: readonly string[];
}

/** Options of {@link parseCsr}. */
export interface ParseCsrOptions {
  /** The leaf profile the request is for, which decides the keys accepted (`leaf-profile.ts`); default `node`: P-256. */
  readonly profile?: LeafProfile;
}

/**
 * The signature a request with such a key must carry, as an AlgorithmIdentifier without
 * parameters: ecdsa-with-SHA256 (RFC 5758 §3.2), or Ed25519 (RFC 8410 §3, pure EdDSA: no digest).
 */
const SIGNATURES: Readonly<Record<SubjectKeyAlgorithm, { oid: string; name: string; digest: string | null }>> = {
  'P-256': { oid: '1.2.840.10045.4.3.2', name: 'ecdsa-with-SHA256', digest: 'sha256' },
  Ed25519: { oid: '1.3.101.112', name: 'Ed25519', digest: null },
};

/**
 * Checks the request's self-signature with OpenSSL (node:crypto), strictly: the request
 * must re-encode to exactly its own bytes (so no lenient BER slipped through the
 * ASN.1 decoder), be signed with the algorithm of its key (ecdsa-with-SHA256 for P-256,
 * Ed25519 for Ed25519), and carry a signature that verifies over the exact
 * `certificationRequestInfo` bytes with the enclosed key.
 */
function checkProofOfPossession(der: Uint8Array, keyAlgorithm: SubjectKeyAlgorithm): void {
  let request: CertificationRequest;
  let reencoded: ArrayBuffer;
  let info: ArrayBuffer;
  let spki: ArrayBuffer;
  try {
    // Parsing is lazy in places: re-encoding can be the first step to meet a bad value,
    // so it stays inside the guard too.
    request = AsnConvert.parse(der, CertificationRequest);
    reencoded = AsnConvert.serialize(request);
    info = request.certificationRequestInfoRaw ?? AsnConvert.serialize(request.certificationRequestInfo);
    spki = AsnConvert.serialize(request.certificationRequestInfo.subjectPKInfo);
  } catch (cause) {
    throw csrError('der', 'is not a DER PKCS#10 certificate request', cause);
  }
  if (!Buffer.from(reencoded).equals(der)) {
    throw csrError('der', 'is not DER-encoded (it does not re-encode to the same bytes)');
  }
  const algorithm = request.signatureAlgorithm;
  const expected = SIGNATURES[keyAlgorithm];
  if (algorithm.algorithm !== expected.oid || algorithm.parameters != null) {
    throw csrError(
      'signature',
      `must be signed with ${expected.name} for its ${keyAlgorithm} key, not ${algorithm.algorithm}`,
    );
  }
  let ok = false;
  try {
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    ok = verifySignature(expected.digest, Buffer.from(info), key, Buffer.from(request.signature));
  } catch (cause) {
    throw csrError('signature', 'signature could not be checked', cause);
  }
  if (!ok) throw csrError('signature', 'signature does not verify with its own public key');
}

function csrError(rule: string, message: string, cause?: unknown): MeshError {
  return new MeshError('MALFORMED_REQUEST', `csrPem ${message}`, { details: { field: 'csrPem', rule }, cause });
}

/**
 * Creates a PKCS#10 certificate signing request (RFC 2986), signed ECDSA P-256 / SHA-256 or
 * Ed25519 after the key, requesting the given SANs. The issuer decides the names it signs; the request says
 * what the requester expects, and issuers refuse a request for a different SPIFFE ID.
 *
 * @throws TypeError on a bad `subjectCn`; MeshError `INVALID_IDENTIFIER` on a bad
 *   `spiffeId`, `MALFORMED_REQUEST` (rule `dns-name`) on a bad DNS name
 */
export async function createCsr(options: CreateCsrOptions): Promise<string> {
  const { keys, subjectCn, spiffeId, dnsNames } = options;
  if (typeof subjectCn !== 'string' || subjectCn.length === 0 || subjectCn.length > 64) {
    throw new TypeError('subjectCn must be a string of 1 to 64 characters');
  }
  const names: x509.JsonGeneralName[] = [];
  if (spiffeId !== undefined) names.push({ type: 'url', value: parseCertificateSpiffeUri(spiffeId, 'spiffeId').uri });
  for (const dns of checkDnsNames(dnsNames, 'dnsNames')) names.push({ type: 'dns', value: dns });
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [subjectCn] }],
    keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
    signingAlgorithm: keys.privateKey.algorithm.name === 'Ed25519' ? { name: 'Ed25519' } : SIGNING_ALGORITHM,
    extensions: names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names, false)] : [],
  });
  return `${csr.toString('pem')}\n`;
}

/**
 * Parses a PKCS#10 request and verifies its self-signature with OpenSSL (proof that the
 * requester holds the private key). Keys: P-256 ECDSA, plus Ed25519 for the `device`
 * profile; names: URI and DNS SANs only.
 *
 * @throws MeshError `MALFORMED_REQUEST` with `details.field = 'csrPem'` and `details.rule`
 *   one of `pem`, `der`, `signature`, `key-algorithm`, `san-type`; TypeError on a bad `profile`
 */
export async function parseCsr(pem: string, options: ParseCsrOptions = {}): Promise<ParsedCsr> {
  const profile = leafProfileOf(options.profile);
  const der = decodeSinglePem(pem, PEM_LABEL.csr, { field: 'csrPem', code: 'MALFORMED_REQUEST' });
  if (!isSingleDerSequence(der)) throw csrError('der', 'is not one DER-encoded PKCS#10 certificate request');
  let csr: x509.Pkcs10CertificateRequest;
  let spki: ArrayBuffer;
  try {
    csr = new x509.Pkcs10CertificateRequest(der);
    spki = csr.publicKey.rawData;
  } catch (cause) {
    throw csrError('der', 'is not a DER PKCS#10 certificate request', cause);
  }
  const { publicKey, algorithm } = await importSubjectKey(spki, LEAF_PROFILES[profile].keyAlgorithms, (what, cause) =>
    csrError('key-algorithm', `${what} (${profile} profile)`, cause),
  );
  checkProofOfPossession(der, algorithm);

  const uris: string[] = [];
  const dnsNames: string[] = [];
  let subjectCn: string | null;
  let subject: string;
  try {
    // @peculiar/x509 decodes attributes lazily: keep every decode inside this guard.
    for (const ext of csr.getExtensions(OID.subjectAltName)) {
      for (const name of new x509.SubjectAlternativeNameExtension(ext.rawData).names.items) {
        if (name.type === 'url') uris.push(name.value);
        else if (name.type === 'dns') dnsNames.push(name.value);
        else throw csrError('san-type', `requests a ${name.type} SAN; only URI and DNS names are issued`);
      }
    }
    subject = csr.subject;
    subjectCn = csr.subjectName.getField('CN')[0] ?? null;
  } catch (cause) {
    if (cause instanceof MeshError) throw cause;
    throw csrError('der', 'has an extension request or subject that does not decode', cause);
  }
  return Object.freeze({
    pem,
    subject,
    subjectCn,
    publicKey,
    keyAlgorithm: algorithm,
    kid: await keyIdOf(publicKey),
    uris: Object.freeze(uris),
    dnsNames: Object.freeze(dnsNames),
  });
}
