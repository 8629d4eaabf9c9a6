import { type CityName, parseCityName } from './city.js';
import { type ClusterName, parseClusterName } from './cluster.js';
import { identifierError, quoteValue, requireString } from './identifier-error.js';

/** Every citymesh trust domain ends with this label. */
export const TRUST_DOMAIN_SUFFIX = 'citymesh';

/** A city's SPIFFE trust domain, `<city>.<cluster>.citymesh`, split into its parts. */
export interface TrustDomain {
  readonly cluster: ClusterName;
  readonly city: CityName;
  /** The whole trust domain name, e.g. `beijing.jjj.citymesh`. */
  readonly name: string;
}

/** Formats the trust domain of a city: `<city>.<cluster>.citymesh`. */
export function formatTrustDomain(cluster: string, city: string): string {
  return `${parseCityName(city)}.${parseClusterName(cluster)}.${TRUST_DOMAIN_SUFFIX}`;
}

/**
 * Parses a citymesh trust domain name. Each city is its own trust domain so that the
 * anchor can name-constrain a city's intermediate CA to it (RFC 5280 §4.2.1.10).
 *
 * @throws MeshError `INVALID_IDENTIFIER` (rules `type`, `trust-domain-suffix`, `trust-domain-shape`,
 *   and the city and cluster rules with fields `<field>.city` / `<field>.cluster`)
 */
export function parseTrustDomain(input: unknown, field = 'trustDomain'): TrustDomain {
  const name = requireString(input, field);
  const labels = name.split('.');
  if (labels[labels.length - 1] !== TRUST_DOMAIN_SUFFIX) {
    throw identifierError(
      field,
      'trust-domain-suffix',
      name,
      `${field} ${quoteValue(name)} must end with ".${TRUST_DOMAIN_SUFFIX}"`,
    );
  }
  if (labels.length !== 3) {
    throw identifierError(
      field,
      'trust-domain-shape',
      name,
      `${field} ${quoteValue(name)} must be <city>.<cluster>.${TRUST_DOMAIN_SUFFIX}`,
    );
  }
  const city = parseCityName(labels[0], `${field}.city`);
  const cluster = parseClusterName(labels[1], `${field}.cluster`);
  return Object.freeze({ cluster, city, name });
}
