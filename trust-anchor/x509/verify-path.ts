import { MeshError } from '../../common/errors/mesh-error.js';
import type { CityName, ClusterName, SpiffeKind } from '../../common/ids/index.js';
import { type LeafProfile, leafProfileOf } from './leaf-profile.js';
import { type CertificateRole, fail, parseCertificate } from './path-cert.js';
import { checkNameConstraints, spiffeSubjects } from './path-names.js';
import {
  checkExtensions,
  checkIssuers,
  checkLeafProfile,
  checkSignature,
  checkValidity,
  findRoot,
} from './path-rules.js';
import { DEFAULT_LEEWAY_SECONDS, requireDate } from './profile.js';
import { canonicalSerial } from './serial.js';

export type { CertificateRole } from './path-cert.js';

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
  const { id, subjects } = spiffeSubjects(leaf, chain, profile);

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
