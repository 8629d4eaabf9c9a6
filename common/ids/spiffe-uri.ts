import { identifierError, quoteValue, requireString } from './identifier-error.js';

/** The only accepted scheme prefix: lowercase, as every SPIFFE implementation compares it. */
export const SPIFFE_SCHEME_PREFIX = 'spiffe://';

/** SPIFFE-ID §2.3: implementations need not accept longer URIs, and must not mint them. */
export const SPIFFE_ID_MAX_BYTES = 2048;

/** SPIFFE-ID §2.3: the trust domain is an RFC 3986 host, at most 255 bytes. */
export const TRUST_DOMAIN_MAX_BYTES = 255;

const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const PATH_SEGMENT_CHARS = /^[A-Za-z0-9._-]+$/;

/** A SPIFFE ID checked against the SPIFFE spec alone, with no citymesh rule applied. */
export interface SpiffeUri {
  readonly trustDomain: string;
  /** The path segments, without slashes; empty for a trust domain's own ID. */
  readonly segments: readonly string[];
  readonly uri: string;
}

/**
 * Parses a SPIFFE ID by the SPIFFE spec, strictly: lowercase `spiffe` scheme, a trust
 * domain of `[a-z0-9._-]`, path segments of `[A-Za-z0-9._-]` that are never empty, `.`
 * or `..`, no trailing slash, no userinfo, port, query, fragment or percent-encoding,
 * and at most 2048 bytes. Use {@link parseSpiffeId} for citymesh identities.
 *
 * @throws MeshError `INVALID_IDENTIFIER` with `details.rule` one of `type`, `max-length`,
 *   `scheme`, `query`, `fragment`, `percent-encoding`, `userinfo`, `port`,
 *   `trust-domain-empty`, `trust-domain-length`, `trust-domain-chars`, `trailing-slash`,
 *   `path-empty-segment`, `path-dot-segment`, `path-chars`
 */
export function parseSpiffeUri(input: unknown, field = 'spiffeId'): SpiffeUri {
  const uri = requireString(input, field);
  const fail = (rule: string, what: string) => identifierError(field, rule, uri, `${field} ${quoteValue(uri)} ${what}`);

  // §2.3: the limit is in bytes; a non-ASCII input is rejected below anyway.
  if (Buffer.byteLength(uri, 'utf8') > SPIFFE_ID_MAX_BYTES) {
    throw fail('max-length', `must be at most ${SPIFFE_ID_MAX_BYTES} bytes`);
  }
  if (!uri.startsWith(SPIFFE_SCHEME_PREFIX)) {
    throw fail('scheme', `must start with "${SPIFFE_SCHEME_PREFIX}" (lowercase)`);
  }
  // §2: a SPIFFE ID MUST NOT include a query or fragment component.
  if (uri.includes('?')) throw fail('query', 'must not have a query');
  if (uri.includes('#')) throw fail('fragment', 'must not have a fragment');
  // §2.1/§2.2: neither the trust domain nor path segments may be percent-encoded.
  if (uri.includes('%')) throw fail('percent-encoding', 'must not contain percent-encoding');

  const rest = uri.slice(SPIFFE_SCHEME_PREFIX.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);

  // §2.1: the authority is a bare host; userinfo and port MUST NOT be set.
  if (trustDomain.includes('@')) throw fail('userinfo', 'must not have userinfo');
  if (trustDomain.includes(':')) throw fail('port', 'must not have a port');
  if (trustDomain.length === 0) throw fail('trust-domain-empty', 'must have a trust domain');
  if (trustDomain.length > TRUST_DOMAIN_MAX_BYTES) {
    throw fail('trust-domain-length', `must have a trust domain of at most ${TRUST_DOMAIN_MAX_BYTES} bytes`);
  }
  if (!TRUST_DOMAIN_CHARS.test(trustDomain)) {
    throw fail('trust-domain-chars', 'must have a trust domain of lowercase letters, digits, ".", "-" and "_" only');
  }

  if (path === '') return Object.freeze({ trustDomain, segments: Object.freeze([]), uri });
  const segments = path.slice(1).split('/');
  segments.forEach((segment, index) => {
    if (segment === '') {
      if (index === segments.length - 1) throw fail('trailing-slash', 'must not end with "/"');
      throw fail('path-empty-segment', 'must not have an empty path segment');
    }
    // §2.2: dot segments would make two spellings of one identity after normalisation.
    if (segment === '.' || segment === '..')
      throw fail('path-dot-segment', `must not have a "${segment}" path segment`);
    if (!PATH_SEGMENT_CHARS.test(segment)) {
      throw fail('path-chars', 'must have path segments of letters, digits, ".", "-" and "_" only');
    }
  });
  return Object.freeze({ trustDomain, segments: Object.freeze(segments), uri });
}
