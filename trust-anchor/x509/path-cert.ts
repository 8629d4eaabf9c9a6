import { type KeyObject, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../common/errors/registry.js';
import { type NameConstraintSet, readNameConstraints } from './name-constraints.js';
import { decodeSinglePem, isSingleDerSequence, PEM_LABEL } from './pem.js';
import { x509 } from './provider.js';
import { canonicalSerial } from './serial.js';

/*
 * A certificate of a path as the verifier reads it: decoded once, with every extension the
 * rules need, and the refusal that names it.
 */

/** Which certificate of a path a failure is about. */
export type CertificateRole = 'leaf' | 'intermediate-1' | 'intermediate-2' | 'root';

/** What the verifier reads from a certificate, decoded once, up front. */
export interface CertFacts {
  readonly extensions: readonly { readonly type: string; readonly critical: boolean }[];
  readonly basicConstraints: { readonly ca: boolean; readonly pathLength: number | undefined } | null;
  readonly keyUsage: { readonly usages: number; readonly critical: boolean } | null;
  readonly extKeyUsage: readonly string[] | null;
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  readonly nameConstraints: NameConstraintSet | null;
}

export interface PathCert {
  readonly role: CertificateRole;
  readonly der: Buffer;
  readonly cert: x509.X509Certificate;
  readonly node: NodeX509Certificate;
  /** RFC 4514 text of the subject and issuer names, for messages. */
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The subject public key, decoded by OpenSSL once (it throws on a corrupt key). */
  readonly publicKey: KeyObject;
  readonly serial: string;
  readonly facts: CertFacts;
}

/**
 * Decodes every extension the rules need. @peculiar/x509 decodes extensions lazily and
 * throws plain errors on bad DER; doing it all here turns any such error into one
 * `malformed` refusal instead of a crash halfway through the rules.
 */
function factsOf(cert: x509.X509Certificate): CertFacts {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const items = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  return {
    extensions: cert.extensions.map((ext) => ({ type: ext.type, critical: ext.critical })),
    basicConstraints: bc === null ? null : { ca: bc.ca, pathLength: bc.pathLength },
    keyUsage: ku === null ? null : { usages: ku.usages, critical: ku.critical },
    extKeyUsage: eku === null ? null : eku.usages.map(String),
    uris: items.filter((n) => n.type === 'url').map((n) => n.value),
    dnsNames: items.filter((n) => n.type === 'dns').map((n) => n.value),
    nameConstraints: readNameConstraints(cert),
  };
}

export function describe(c: PathCert): string {
  return `${c.role} "${c.subject}"`;
}

export function fail(
  code: ErrorCode,
  c: PathCert,
  rule: string,
  what: string,
  extra: Record<string, string> = {},
  cause?: unknown,
): MeshError {
  return new MeshError(code, `${describe(c)} ${what}`, {
    details: { certificate: c.role, subject: c.subject, rule, ...extra },
    cause,
  });
}

type Decoded = Omit<PathCert, 'role'>;

/**
 * Decoded CA certificates by DER (base64). @peculiar/x509 takes 2–3 ms to decode one
 * certificate, and the same roots and city CAs come back on every handshake; decoding is
 * a pure function of the bytes, so memoising it changes no result. Leaves are not kept.
 */
const decodedCas = new Map<string, Decoded>();
const MAX_DECODED_CAS = 256;

function decode(der: Buffer): Decoded {
  // Both parsers read the same DER bytes: @peculiar/x509 for extensions, OpenSSL (node) for signatures.
  const cert = new x509.X509Certificate(der);
  const node = new NodeX509Certificate(der);
  // @peculiar/x509 decodes these lazily: read them now, so a bad one fails here, not mid-rule.
  return Object.freeze({
    der,
    cert,
    node,
    subject: cert.subject,
    issuer: cert.issuer,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    publicKey: node.publicKey,
    serial: canonicalSerial(cert.serialNumber),
    facts: factsOf(cert),
  });
}

export function parseCertificate(pem: unknown, role: CertificateRole, field: string, code: ErrorCode): PathCert {
  const der = Buffer.from(decodeSinglePem(pem, PEM_LABEL.certificate, { field, code, details: { certificate: role } }));
  const key = role === 'leaf' ? null : der.toString('base64');
  const memo = key === null ? undefined : decodedCas.get(key);
  if (memo !== undefined) return { ...memo, role };
  let decoded: Decoded;
  try {
    if (!isSingleDerSequence(der)) throw new Error('not one DER SEQUENCE');
    decoded = decode(der);
  } catch (cause) {
    throw new MeshError(code, `${field} is not a DER X.509 certificate`, {
      details: { field, certificate: role, rule: 'malformed' },
      cause,
    });
  }
  if (key !== null) {
    if (decodedCas.size >= MAX_DECODED_CAS) decodedCas.delete(decodedCas.keys().next().value!);
    decodedCas.set(key, decoded);
  }
  return { ...decoded, role };
}
