import type { CityName } from './city.js';
import type { ClusterName } from './cluster.js';
import { parseDeviceId } from './device-id.js';
import { identifierError, quoteValue } from './identifier-error.js';
import { ParseMemo } from './parse-memo.js';
import { parseSpiffeUri, SPIFFE_SCHEME_PREFIX } from './spiffe-uri.js';
import { formatTrustDomain, parseTrustDomain } from './trust-domain.js';
import { parseClientId, parseNodeName } from './workload-name.js';

/** What a citymesh SPIFFE ID names: a city node, an OIDC client (app), or a device. */
export const SPIFFE_KINDS = ['node', 'app', 'device'] as const;

/** One of {@link SPIFFE_KINDS}. */
export type SpiffeKind = (typeof SPIFFE_KINDS)[number];

/** A citymesh workload or device identity, `spiffe://<city>.<cluster>.citymesh/<kind>/<name>`. */
export interface SpiffeId {
  readonly cluster: ClusterName;
  readonly city: CityName;
  readonly kind: SpiffeKind;
  /** Node name, client id or device id, by kind. */
  readonly name: string;
  /** `<city>.<cluster>.citymesh` */
  readonly trustDomain: string;
  /** The whole URI, exactly as parsed or formatted. */
  readonly uri: string;
}

/** The parts {@link formatSpiffeId} needs. */
export interface SpiffeIdParts {
  readonly cluster: string;
  readonly city: string;
  readonly kind: SpiffeKind;
  readonly name: string;
}

/** Ids that parsed, by text: the same few are parsed several times per exchange. */
const PARSED = new ParseMemo<SpiffeId>();

function isSpiffeKind(value: string | undefined): value is SpiffeKind {
  return (SPIFFE_KINDS as readonly (string | undefined)[]).includes(value);
}

/** Checks a name by the rule of its kind; device ids must also be valid SPIFFE segments. */
function parseName(kind: SpiffeKind, name: unknown, field: string): string {
  switch (kind) {
    case 'node':
      return parseNodeName(name, field);
    case 'app':
      return parseClientId(name, field);
    case 'device': {
      const id = parseDeviceId(name, field);
      // SPIFFE-ID §2.2 allows no ":" in a segment and forbids percent-encoding it.
      if (id.includes(':')) {
        throw identifierError(
          field,
          'spiffe-segment',
          id,
          `${field} ${quoteValue(id)} contains ":", which a SPIFFE ID cannot carry`,
        );
      }
      return id;
    }
  }
}

/**
 * Parses a citymesh SPIFFE ID: the SPIFFE spec rules ({@link parseSpiffeUri}), then
 * citymesh's own: the trust domain is `<city>.<cluster>.citymesh`, the path is exactly
 * `/<kind>/<name>` with kind `node`, `app` or `device`, and the name follows its kind's rule.
 *
 * @throws MeshError `INVALID_IDENTIFIER`; besides the spec rules, `details.rule` may be
 *   `trust-domain-suffix`, `trust-domain-shape`, `path-shape`, `kind`, or a name rule with
 *   `details.field` = `<field>.name`
 */
export function parseSpiffeId(input: unknown, field = 'spiffeId'): SpiffeId {
  const known = PARSED.get(input);
  if (known !== undefined) return known;
  const { trustDomain, segments, uri } = parseSpiffeUri(input, field);
  const domain = parseTrustDomain(trustDomain, `${field}.trustDomain`);
  if (segments.length !== 2) {
    throw identifierError(
      field,
      'path-shape',
      uri,
      `${field} ${quoteValue(uri)} must have the path /<kind>/<name>, got ${segments.length} segment(s)`,
    );
  }
  const kind = segments[0];
  if (!isSpiffeKind(kind)) {
    throw identifierError(
      field,
      'kind',
      uri,
      `${field} ${quoteValue(uri)} must have kind ${SPIFFE_KINDS.join(', ')}; got ${quoteValue(kind)}`,
    );
  }
  const name = parseName(kind, segments[1], `${field}.name`);
  return PARSED.remember(
    input as string,
    Object.freeze({ cluster: domain.cluster, city: domain.city, kind, name, trustDomain, uri }),
  );
}

/**
 * Formats a citymesh SPIFFE ID from its parts, checking each; the result always parses
 * back with {@link parseSpiffeId} to the same parts.
 *
 * @throws MeshError `INVALID_IDENTIFIER` when a part breaks its rule
 */
export function formatSpiffeId(parts: SpiffeIdParts): string {
  if (!isSpiffeKind(parts.kind)) {
    throw identifierError(
      'kind',
      'kind',
      parts.kind,
      `kind ${quoteValue(parts.kind)} must be one of ${SPIFFE_KINDS.join(', ')}`,
    );
  }
  const name = parseName(parts.kind, parts.name, 'name');
  return `${SPIFFE_SCHEME_PREFIX}${formatTrustDomain(parts.cluster, parts.city)}/${parts.kind}/${name}`;
}

/** Builds the parsed form directly from parts: `parseSpiffeId(formatSpiffeId(parts))`. */
export function spiffeIdOf(parts: SpiffeIdParts): SpiffeId {
  return parseSpiffeId(formatSpiffeId(parts));
}
