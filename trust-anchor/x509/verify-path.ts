import { type KeyObject, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { isMeshError, MeshError } from '../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../common/errors/registry.js';
import type { CityName, ClusterName, SpiffeKind } from '../../common/ids/index.js';
import { extKeyUsageProblem, kindProblem, LEAF_PROFILES, type LeafProfile, leafProfileOf } from './leaf-profile.js';
import { checkName, type NameConstraintSet, readNameConstraints } from './name-constraints.js';
import { parseCertificateSpiffeUri } from './names.js';
import { decodeSinglePem, isSingleDerSequence, PEM_LABEL } from './pem.js';
import { DEFAULT_LEEWAY_SECONDS, OID, requireDate } from './profile.js';
import { x509 } from './provider.js';
import { canonicalSerial } from './serial.js';
import { describeKeyAlgorithms, subjectKeyAlgorithmOf } from './subject-key.js';

/** Most intermediates accepted between a leaf and a pinned root. */
export const MAX_INTERMEDIATES = 2;

/** Options of {@link verifyCertificatePath}. */
export interface VerifyCertificatePathOptions {
  /** The certificate to authenticate (an X509-SVID). */
  readonly leafPem: string;
  /** Intermediate CAs, leaf-first: `chainPems[0]` issued the leaf. A trailing copy of a pinned root is ignored. */
  readonly chainPems?: readonly string[];
  /** The pinned cluster roots: the only trust anchors. */
  readonly rootPems: readonly string[];
  readonly now: Date;
  /** Clock skew tolerated on every validity window; default 60. */
  readonly leewaySeconds?: number;
  /** Serials (hex, any case, colons allowed) refused anywhere in the path. */
  readonly revokedSerials?: Iterable<string>;
  /**
   * The leaf profile required (`leaf-profile.ts`): `node` (default) for nodes and apps,
   * `device` for device certificates (clientAuth only, P-256 or Ed25519 key, a device id).
   */
  readonly profile?: LeafProfile;
  /** Who the peer must be; any mismatch is `PEER_IDENTITY_MISMATCH`. */
  readonly expected?: {
    readonly cluster?: string;
    readonly city?: string;
    readonly spiffeId?: string;
  };
}

/** What a verified path says about its leaf. */
export interface VerifiedCertificatePath {
  /** The leaf's SPIFFE ID (its one URI SAN). */
  readonly spiffeId: string;
  readonly trustDomain: string;
  readonly cluster: ClusterName;
  readonly city: CityName;
  readonly kind: SpiffeKind;
  readonly name: string;
  /** The leaf's canonical serial (lowercase hex, no leading zeros). */
  readonly serial: string;
  readonly notAfter: Date;
  /** Canonical serial of the certificate that signed the leaf (its city CA, or the root). */
  readonly issuerSerial: string;
}

/** Which certificate of a path a failure is about. */
export type CertificateRole = 'leaf' | 'intermediate-1' | 'intermediate-2' | 'root';

/** What the verifier reads from a certificate, decoded once, up front. */
interface CertFacts {
  readonly extensions: readonly { readonly type: string; readonly critical: boolean }[];
  readonly basicConstraints: { readonly ca: boolean; readonly pathLength: number | undefined } | null;
  readonly keyUsage: { readonly usages: number; readonly critical: boolean } | null;
  readonly extKeyUsage: readonly string[] | null;
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  readonly nameConstraints: NameConstraintSet | null;
}

interface PathCert {
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

/** Extensions this verifier processes; any other one marked critical fails the path (RFC 5280 §4.2). */
const UNDERSTOOD_CRITICAL = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.nameConstraints,
]);

function describe(c: PathCert): string {
  return `${c.role} "${c.subject}"`;
}

function fail(
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

function parseCertificate(pem: unknown, role: CertificateRole, field: string, code: ErrorCode): PathCert {
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

/** RFC 5280 §4.2: at most one instance of an extension; every critical one must be understood. */
function checkExtensions(c: PathCert): void {
  const seen = new Set<string>();
  for (const ext of c.facts.extensions) {
    if (seen.has(ext.type)) {
      throw fail('CERTIFICATE_INVALID', c, 'duplicate-extension', `has extension ${ext.type} twice (RFC 5280 §4.2)`, {
        extension: ext.type,
      });
    }
    seen.add(ext.type);
    if (ext.critical && !UNDERSTOOD_CRITICAL.has(ext.type)) {
      throw fail(
        'CERTIFICATE_INVALID',
        c,
        'unknown-critical-extension',
        `has critical extension ${ext.type} that citymesh does not process`,
        {
          extension: ext.type,
        },
      );
    }
  }
}

/** Verifies `child`'s signature with `issuer`'s key (OpenSSL, via node:crypto) after checking the names chain. */
function checkSignature(child: PathCert, issuer: PathCert): void {
  if (child.node.issuer !== issuer.node.subject) {
    throw fail(
      'CERTIFICATE_INVALID',
      child,
      'issuer-mismatch',
      `names issuer "${child.issuer}", not ${describe(issuer)}`,
    );
  }
  if (!child.node.verify(issuer.publicKey)) {
    throw fail(
      'CERTIFICATE_INVALID',
      child,
      'signature',
      `signature does not verify with the key of ${describe(issuer)}`,
    );
  }
}

function findRoot(top: PathCert, roots: readonly PathCert[]): PathCert {
  const sameName = roots.filter((root) => root.node.subject === top.node.issuer);
  const root = sameName.find((candidate) => top.node.verify(candidate.publicKey));
  if (root !== undefined) return root;
  if (sameName.length > 0) {
    throw fail(
      'CERTIFICATE_INVALID',
      top,
      'signature',
      'signature does not verify with the key of any pinned root of that name',
    );
  }
  throw fail('CERTIFICATE_INVALID', top, 'untrusted-root', `was issued by "${top.issuer}", which is not a pinned root`);
}

function checkValidity(c: PathCert, now: Date, leewayMs: number): void {
  const window = {
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    now: now.toISOString(),
  };
  if (now.getTime() + leewayMs < c.notBefore.getTime()) {
    throw fail(
      'CERTIFICATE_EXPIRED',
      c,
      'not-yet-valid',
      `is not valid before ${window.notBefore} (now ${window.now})`,
      window,
    );
  }
  if (now.getTime() - leewayMs > c.notAfter.getTime()) {
    throw fail('CERTIFICATE_EXPIRED', c, 'expired', `expired at ${window.notAfter} (now ${window.now})`, window);
  }
}

/**
 * RFC 5280 §6.1.4 (k), (l), (n): every issuer is a CA with keyCertSign, and no CA has
 * more intermediates below it than its pathLenConstraint allows. Checked from the leaf
 * upwards so the failure names the CA nearest the leaf.
 */
function checkIssuers(issuers: readonly PathCert[]): void {
  issuers.forEach((ca, index) => {
    const bc = ca.facts.basicConstraints;
    if (bc === null || !bc.ca) {
      throw fail(
        'CERTIFICATE_INVALID',
        ca,
        'issuer-not-ca',
        'issued a certificate but is not a CA (basicConstraints cA is not true)',
      );
    }
    const ku = ca.facts.keyUsage;
    if (ku === null || (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
      throw fail(
        'CERTIFICATE_INVALID',
        ca,
        'issuer-key-usage',
        'issued a certificate but its keyUsage lacks keyCertSign',
      );
    }
    // Intermediates below this CA: those at lower indexes (issuers[0] issued the leaf).
    const below = index;
    if (bc.pathLength !== undefined && below > bc.pathLength) {
      throw fail(
        'CERTIFICATE_INVALID',
        ca,
        'path-length',
        `allows ${bc.pathLength} intermediate(s) below it (pathLenConstraint) but the path has ${below}`,
        {
          pathLength: String(bc.pathLength),
        },
      );
    }
  });
}

/** X509-SVID §5.2 and §4.3/§4.4: the leaf is not a CA, signs, has its profile's TLS roles and key type. */
function checkLeafProfile(leaf: PathCert, profile: LeafProfile): void {
  if (leaf.facts.basicConstraints?.ca === true) {
    throw fail(
      'CERTIFICATE_INVALID',
      leaf,
      'leaf-is-ca',
      'is a CA certificate (basicConstraints cA true) and cannot authenticate a peer',
    );
  }
  const ku = leaf.facts.keyUsage;
  if (ku === null || !ku.critical) {
    throw fail(
      'CERTIFICATE_INVALID',
      leaf,
      'leaf-key-usage',
      'must have a critical keyUsage extension (X509-SVID §4.3)',
    );
  }
  if ((ku.usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)) !== 0) {
    throw fail(
      'CERTIFICATE_INVALID',
      leaf,
      'leaf-is-ca',
      'has keyCertSign or cRLSign, which a leaf must not (X509-SVID §5.2)',
    );
  }
  if ((ku.usages & x509.KeyUsageFlags.digitalSignature) === 0) {
    throw fail('CERTIFICATE_INVALID', leaf, 'leaf-key-usage', 'lacks digitalSignature in keyUsage (X509-SVID §4.3)');
  }
  const ekuProblem = extKeyUsageProblem(profile, leaf.facts.extKeyUsage);
  if (ekuProblem !== null) throw fail('CERTIFICATE_INVALID', leaf, 'leaf-extended-key-usage', ekuProblem);
  const allowed = LEAF_PROFILES[profile].keyAlgorithms;
  const algorithm = subjectKeyAlgorithmOf(leaf.publicKey);
  if (algorithm === undefined || !allowed.includes(algorithm)) {
    throw fail(
      'CERTIFICATE_INVALID',
      leaf,
      'leaf-key-algorithm',
      `must certify ${describeKeyAlgorithms(allowed)} (${profile} profile), not a ${leaf.publicKey.asymmetricKeyType} key`,
    );
  }
}

function spiffeFailure(
  c: PathCert,
  rule: string,
  what: string,
  err: unknown,
  extra: Record<string, string> = {},
): MeshError {
  const inner = isMeshError(err) ? String(err.details.rule ?? '') : '';
  return fail(
    'CERTIFICATE_SPIFFE_ID_INVALID',
    c,
    rule,
    what,
    { ...extra, ...(inner ? { spiffeRule: inner } : {}) },
    err,
  );
}

/** The one host a URI SAN contributes to name-constraint checks: the SPIFFE trust domain. */
interface ConstrainedNames {
  readonly cert: PathCert;
  readonly uriHosts: readonly { uri: string; host: string }[];
  readonly dnsNames: readonly string[];
}

function checkNameConstraints(subjects: readonly ConstrainedNames[], issuers: readonly PathCert[]): void {
  // issuers[i] constrains subjects[0..i] (everything below it: the leaf and lower intermediates).
  issuers.forEach((ca, index) => {
    const set = ca.facts.nameConstraints;
    if (set === null) return;
    if (set.usesDistances || [...set.permitted, ...set.excluded].some((s) => s.type === 'other')) {
      throw fail(
        'CERTIFICATE_NAME_CONSTRAINT',
        ca,
        'unsupported-constraint',
        'has name constraints citymesh does not evaluate (only URI and DNS subtrees, minimum 0, no maximum)',
      );
    }
    // Nearest first, so a violation is reported on the certificate the CA itself signed.
    for (const subject of subjects.slice(0, index + 1).reverse()) {
      const named = [
        ...subject.uriHosts.map(({ uri, host }) => ({ type: 'uri' as const, name: uri, host })),
        ...subject.dnsNames.map((dns) => ({ type: 'dns' as const, name: dns, host: dns })),
      ];
      for (const { type, name, host } of named) {
        const violation = checkName(set, type, host);
        if (violation !== null) {
          throw fail(
            'CERTIFICATE_NAME_CONSTRAINT',
            subject.cert,
            violation,
            `names ${name}, outside the name constraints of ${describe(ca)} (RFC 5280 §4.2.1.10)`,
            { name, issuer: ca.role, issuerSubject: ca.subject },
          );
        }
      }
    }
  });
}

/**
 * Verifies an X509-SVID path up to a pinned cluster root and returns the leaf's identity.
 * Pure: no I/O, no clock (`now` is given). The rules, in order, each failure naming the
 * certificate (`details.certificate`: `leaf`, `intermediate-1`, `intermediate-2`, `root`)
 * and the rule (`details.rule`):
 *
 * 1. Shape — each PEM is one PEM block (`pem`) holding one DER certificate (`malformed`); at most {@link MAX_INTERMEDIATES}
 *    intermediates (`chain-too-long`); no duplicated extension (`duplicate-extension`) and no
 *    critical extension it does not process (`unknown-critical-extension`). `CERTIFICATE_INVALID`.
 * 2. Signatures — each certificate names and is signed by the next, the last by a pinned
 *    root (`issuer-mismatch`, `signature`, `untrusted-root`). `CERTIFICATE_INVALID`.
 * 3. Validity — every certificate, root included, at `now` ± leeway (`expired`,
 *    `not-yet-valid`). `CERTIFICATE_EXPIRED`.
 * 4. Revocation — no serial in the path is in `revokedSerials` (`revoked`).
 *    `CERTIFICATE_INVALID`: a revoked *certificate*; `NODE_REVOKED`/`CITY_REVOKED` stay for the
 *    metadata-level decision the caller makes on the returned identity.
 * 5. Issuers — CAs with keyCertSign and pathLenConstraint respected (`issuer-not-ca`,
 *    `issuer-key-usage`, `path-length`). `CERTIFICATE_INVALID`.
 * 6. Leaf profile (X509-SVID §5.2, `options.profile`) — not a CA, no keyCertSign/cRLSign
 *    (`leaf-is-ca`), critical keyUsage with digitalSignature (`leaf-key-usage`), the
 *    profile's EKU (`leaf-extended-key-usage`; `node`: serverAuth + clientAuth, `device`:
 *    clientAuth and no serverAuth) and key type (`leaf-key-algorithm`; `node`: P-256,
 *    `device`: P-256 or Ed25519). `CERTIFICATE_INVALID`.
 * 7. SPIFFE ID — exactly one URI SAN (`uri-san-count`) that parses as a citymesh SPIFFE ID
 *    (`spiffe-id`, with the parser's rule in `details.spiffeRule`); an intermediate's URI SAN,
 *    if any, is one trust-domain ID without path (`ca-spiffe-id`). `CERTIFICATE_SPIFFE_ID_INVALID`.
 *    A device id in the `node` profile, any other kind or a DNS SAN in the `device` profile,
 *    is `CERTIFICATE_INVALID` (`leaf-profile`).
 *    DNS SANs are ignored for identity: they exist for TLS host-name checks only.
 * 8. Name constraints (RFC 5280 §4.2.1.10) — every name below a CA (URI hosts, DNS names) is
 *    within its permitted subtrees and outside its excluded ones (`not-permitted`, `excluded`);
 *    only URI and DNS subtrees are understood (`unsupported-constraint`); every intermediate
 *    carries a permitted URI subtree, as every city CA does (`unconstrained-ca`).
 *    `CERTIFICATE_NAME_CONSTRAINT`.
 * 9. Expectations — `expected.cluster`, `.city`, `.spiffeId` (`expected-cluster`, `expected-city`,
 *    `expected-spiffe-id`). `PEER_IDENTITY_MISMATCH`.
 *
 * Node's TLS stack (OpenSSL) enforces 2, 3, 5 and the name constraints during an mTLS
 * handshake as well; this is the explicit check a node runs on the peer certificate
 * (`call.getAuthContext().sslPeerCertificate.raw`, see `certificatePemFromDer`) and for
 * offline verification.
 *
 * @throws TypeError on misuse (bad `now`, no `rootPems`, bad `leewaySeconds`, bad `profile`);
 *   MeshError `MALFORMED_REQUEST` when a pinned root does not parse
 */
export function verifyCertificatePath(options: VerifyCertificatePathOptions): VerifiedCertificatePath {
  const now = requireDate(options.now, 'now');
  const profile = leafProfileOf(options.profile);
  const leewaySeconds = options.leewaySeconds ?? DEFAULT_LEEWAY_SECONDS;
  if (typeof leewaySeconds !== 'number' || !Number.isFinite(leewaySeconds) || leewaySeconds < 0) {
    throw new TypeError('leewaySeconds must be a non-negative number');
  }
  if (!Array.isArray(options.rootPems) || options.rootPems.length === 0) {
    throw new TypeError('rootPems must be a non-empty array of PEM certificates');
  }
  const chainPems = options.chainPems ?? [];
  if (!Array.isArray(chainPems)) throw new TypeError('chainPems must be an array of PEM certificates');

  // 1. Shape.
  const roots = options.rootPems.map((pem, i) => parseCertificate(pem, 'root', `rootPems[${i}]`, 'MALFORMED_REQUEST'));
  const leaf = parseCertificate(options.leafPem, 'leaf', 'leafPem', 'CERTIFICATE_INVALID');
  let chain = chainPems.map((pem, i) =>
    parseCertificate(pem, `intermediate-${i + 1}` as CertificateRole, `chainPems[${i}]`, 'CERTIFICATE_INVALID'),
  );
  // TLS peers often send the root too: drop a trailing copy of a pinned root.
  const last = chain[chain.length - 1];
  if (last !== undefined && roots.some((root) => root.der.equals(last.der))) chain = chain.slice(0, -1);
  if (chain.length > MAX_INTERMEDIATES) {
    const extra = chain[MAX_INTERMEDIATES]!;
    throw new MeshError(
      'CERTIFICATE_INVALID',
      `the path has ${chain.length} intermediates; at most ${MAX_INTERMEDIATES} are accepted`,
      {
        details: { certificate: extra.role, rule: 'chain-too-long', intermediates: chain.length },
      },
    );
  }
  for (const c of [leaf, ...chain]) checkExtensions(c);

  // 2. Signatures, leaf upwards, then the pinned root.
  const below = [leaf, ...chain];
  for (let i = 0; i + 1 < below.length; i++) checkSignature(below[i]!, below[i + 1]!);
  const root = findRoot(below[below.length - 1]!, roots);
  checkExtensions(root);
  const path = [...below, root];
  const issuers = [...chain, root];

  // 3. Validity.
  for (const c of path) checkValidity(c, now, leewaySeconds * 1000);

  // 4. Revocation.
  if (options.revokedSerials !== undefined) {
    const revoked = new Set<string>();
    let index = 0;
    for (const serial of options.revokedSerials) revoked.add(canonicalSerial(serial, `revokedSerials[${index++}]`));
    const hit = path.find((c) => revoked.has(c.serial));
    if (hit !== undefined) {
      throw fail('CERTIFICATE_INVALID', hit, 'revoked', `has serial ${hit.serial}, which is revoked`, {
        serial: hit.serial,
      });
    }
  }

  // 5. Issuers.
  checkIssuers(issuers);

  // 6. Leaf profile.
  checkLeafProfile(leaf, profile);

  // 7. SPIFFE IDs.
  const leafNames = leaf.facts;
  if (leafNames.uris.length !== 1) {
    throw fail(
      'CERTIFICATE_SPIFFE_ID_INVALID',
      leaf,
      'uri-san-count',
      `must carry exactly one URI SAN, found ${leafNames.uris.length} (X509-SVID §5.2)`,
      {
        count: String(leafNames.uris.length),
      },
    );
  }
  const leafUri = leafNames.uris[0]!;
  let id: NonNullable<ReturnType<typeof parseCertificateSpiffeUri>['id']>;
  try {
    const parsed = parseCertificateSpiffeUri(leafUri, 'leaf URI SAN');
    if (parsed.id === null)
      throw new MeshError('INVALID_IDENTIFIER', 'a leaf SPIFFE ID needs a path', { details: { rule: 'leaf-path' } });
    id = parsed.id;
  } catch (err) {
    throw spiffeFailure(
      leaf,
      'spiffe-id',
      `carries ${JSON.stringify(leafUri.slice(0, 256))}, not a citymesh SPIFFE ID`,
      err,
      { name: leafUri.slice(0, 256) },
    );
  }
  const kindMismatch = kindProblem(profile, id.kind);
  if (kindMismatch !== null) {
    throw fail('CERTIFICATE_INVALID', leaf, 'leaf-profile', kindMismatch, { profile, kind: id.kind });
  }
  if (leafNames.dnsNames.length > 0 && !LEAF_PROFILES[profile].dnsNames) {
    throw fail('CERTIFICATE_INVALID', leaf, 'leaf-profile', `carries DNS SANs, which the ${profile} profile has not`);
  }
  const subjects: ConstrainedNames[] = [
    { cert: leaf, uriHosts: [{ uri: id.uri, host: id.trustDomain }], dnsNames: leafNames.dnsNames },
  ];
  for (const ca of chain) {
    const names = ca.facts;
    const uriHosts = names.uris.map((uri) => {
      try {
        const parsed = parseCertificateSpiffeUri(uri, 'CA URI SAN');
        if (parsed.id !== null)
          throw new MeshError('INVALID_IDENTIFIER', 'a CA SPIFFE ID has no path', { details: { rule: 'ca-path' } });
        return { uri, host: parsed.trustDomain.name };
      } catch (err) {
        throw spiffeFailure(
          ca,
          'ca-spiffe-id',
          `carries URI SAN ${JSON.stringify(uri.slice(0, 256))}; a CA may only carry its trust domain's SPIFFE ID (X509-SVID §3.2)`,
          err,
        );
      }
    });
    if (uriHosts.length > 1) {
      throw fail(
        'CERTIFICATE_SPIFFE_ID_INVALID',
        ca,
        'ca-spiffe-id',
        `carries ${uriHosts.length} URI SANs; at most one is allowed`,
      );
    }
    subjects.push({ cert: ca, uriHosts, dnsNames: names.dnsNames });
  }

  // 8. Name constraints.
  checkNameConstraints(subjects, issuers);
  for (const ca of chain) {
    const set = ca.facts.nameConstraints;
    if (set === null || !set.permitted.some((s) => s.type === 'uri')) {
      throw fail(
        'CERTIFICATE_NAME_CONSTRAINT',
        ca,
        'unconstrained-ca',
        'has no permitted URI name constraint; every city CA is constrained to its trust domain',
      );
    }
  }

  // 9. Expectations.
  const expected = options.expected ?? {};
  const mismatch = (rule: string, what: string, want: string, got: string) =>
    new MeshError('PEER_IDENTITY_MISMATCH', `leaf "${leaf.subject}" has ${what} ${got}, expected ${want}`, {
      details: { certificate: 'leaf', rule, expected: want, actual: got },
    });
  if (expected.cluster !== undefined && expected.cluster !== id.cluster)
    throw mismatch('expected-cluster', 'cluster', expected.cluster, id.cluster);
  if (expected.city !== undefined && expected.city !== id.city)
    throw mismatch('expected-city', 'city', expected.city, id.city);
  if (expected.spiffeId !== undefined && expected.spiffeId !== id.uri)
    throw mismatch('expected-spiffe-id', 'SPIFFE ID', expected.spiffeId, id.uri);

  return Object.freeze({
    spiffeId: id.uri,
    trustDomain: id.trustDomain,
    cluster: id.cluster,
    city: id.city,
    kind: id.kind,
    name: id.name,
    serial: leaf.serial,
    notAfter: leaf.notAfter,
    issuerSerial: issuers[0]!.serial,
  });
}
