import { AsnConvert } from '@peculiar/asn1-schema';
import {
  GeneralName,
  GeneralSubtree,
  GeneralSubtrees,
  id_ce_nameConstraints,
  NameConstraints,
} from '@peculiar/asn1-x509';
import { x509 } from './provider.js';

/** OID of the name constraints extension (RFC 5280 §4.2.1.10). */
export const NAME_CONSTRAINTS_OID = id_ce_nameConstraints;

/** A name form citymesh constrains. Any other form in a constraint is refused (fail closed). */
export type ConstrainedNameType = 'uri' | 'dns';

/** One subtree of a name constraints extension, as this folder understands it. */
export interface Subtree {
  /** `other` for a name form citymesh does not evaluate (IP, directoryName, email, ...). */
  readonly type: ConstrainedNameType | 'other';
  /** The host or domain for `uri` and `dns`; a description for `other`. */
  readonly value: string;
}

/** The decoded name constraints of one CA certificate. */
export interface NameConstraintSet {
  readonly permitted: readonly Subtree[];
  readonly excluded: readonly Subtree[];
  /** True when a subtree sets `minimum` other than 0 or any `maximum` (RFC 5280: MUST NOT). */
  readonly usesDistances: boolean;
}

/**
 * Builds a critical name constraints extension that permits only the given URI hosts.
 * RFC 5280 §4.2.1.10: for URIs the constraint applies to the host part; a constraint
 * without a leading period names exactly one host (`beijing.jjj.citymesh`), one with a
 * leading period any host below that domain (`.jjj.citymesh`). Conforming CAs MUST mark
 * the extension critical.
 */
export function permittedUriHostsExtension(hosts: readonly string[]): x509.Extension {
  const subtrees = hosts.map(
    (host) => new GeneralSubtree({ base: new GeneralName({ uniformResourceIdentifier: host }) }),
  );
  const value = AsnConvert.serialize(new NameConstraints({ permittedSubtrees: new GeneralSubtrees(subtrees) }));
  return new x509.Extension(NAME_CONSTRAINTS_OID, true, value);
}

function toSubtree(subtree: GeneralSubtree): Subtree {
  const base = subtree.base;
  if (base.uniformResourceIdentifier !== undefined) return { type: 'uri', value: base.uniformResourceIdentifier };
  if (base.dNSName !== undefined) return { type: 'dns', value: base.dNSName };
  const form = Object.keys(base).find((key) => (base as unknown as Record<string, unknown>)[key] !== undefined);
  return { type: 'other', value: form ?? 'unknown' };
}

/**
 * Decodes the name constraints of a certificate; `null` when it has none.
 *
 * @throws Error from the ASN.1 parser when the extension does not decode; callers map it
 */
export function readNameConstraints(cert: x509.X509Certificate): NameConstraintSet | null {
  const ext = cert.getExtension(NAME_CONSTRAINTS_OID);
  if (ext === null) return null;
  const parsed = AsnConvert.parse(ext.value, NameConstraints);
  const all = [...(parsed.permittedSubtrees ?? []), ...(parsed.excludedSubtrees ?? [])];
  return {
    permitted: (parsed.permittedSubtrees ?? []).map(toSubtree),
    excluded: (parsed.excludedSubtrees ?? []).map(toSubtree),
    usesDistances: all.some((s) => (s.minimum ?? 0) !== 0 || s.maximum !== undefined),
  };
}

/**
 * RFC 5280 §4.2.1.10 host matching, case-insensitive. For `uri`: a constraint with a
 * leading period matches hosts strictly below it, one without matches that host only.
 * For `dns`: a constraint matches itself and any name with labels added on the left
 * (OpenSSL also reads a leading period as "strictly below").
 */
export function hostMatches(type: ConstrainedNameType, constraint: string, host: string): boolean {
  const c = constraint.toLowerCase();
  const h = host.toLowerCase();
  if (c === '') return true;
  if (c.startsWith('.')) return h.endsWith(c) && h.length > c.length;
  if (type === 'uri') return h === c;
  return h === c || h.endsWith(`.${c}`);
}

/** Why a name is outside a constraint set, or `null` when it is within. */
export type ConstraintViolation = 'not-permitted' | 'excluded';

/**
 * Checks one name (a URI's host or a DNS name) against a CA's constraints: it must match
 * a permitted subtree of its own form when the CA has any, and no excluded one.
 */
export function checkName(set: NameConstraintSet, type: ConstrainedNameType, host: string): ConstraintViolation | null {
  if (set.excluded.some((s) => s.type === type && hostMatches(type, s.value, host))) return 'excluded';
  const permitted = set.permitted.filter((s) => s.type === type);
  if (permitted.length > 0 && !permitted.some((s) => hostMatches(type, s.value, host))) return 'not-permitted';
  return null;
}

/** The permitted URI hosts of a constraint set (what a city CA may issue SPIFFE IDs for). */
export function permittedUriHosts(set: NameConstraintSet | null): readonly string[] {
  return set === null ? [] : set.permitted.filter((s) => s.type === 'uri').map((s) => s.value);
}
