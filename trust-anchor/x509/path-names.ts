import { isMeshError, MeshError } from '../../common/errors/mesh-error.js';
import { kindProblem, LEAF_PROFILES, type LeafProfile } from './leaf-profile.js';
import { checkName } from './name-constraints.js';
import { parseCertificateSpiffeUri } from './names.js';
import { describe, fail, type PathCert } from './path-cert.js';

/* The names of a path: SPIFFE IDs (step 7 of verifyCertificatePath) and name constraints (step 8). */

export function spiffeFailure(
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
export interface ConstrainedNames {
  readonly cert: PathCert;
  readonly uriHosts: readonly { uri: string; host: string }[];
  readonly dnsNames: readonly string[];
}

export function checkNameConstraints(subjects: readonly ConstrainedNames[], issuers: readonly PathCert[]): void {
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

/** A leaf's parsed SPIFFE ID. */
export type LeafSpiffeId = NonNullable<ReturnType<typeof parseCertificateSpiffeUri>['id']>;

/**
 * Step 7 of verifyCertificatePath: the leaf's one SPIFFE ID, fit for its profile, and the
 * names every certificate below a CA contributes to name-constraint checks.
 */
export function spiffeSubjects(
  leaf: PathCert,
  chain: readonly PathCert[],
  profile: LeafProfile,
): { id: LeafSpiffeId; subjects: ConstrainedNames[] } {
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
  let id: LeafSpiffeId;
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
  return { id, subjects };
}
