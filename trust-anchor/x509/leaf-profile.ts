import type { SpiffeKind } from '../../common/ids/index.js';
import { OID } from './profile.js';
import type { SubjectKeyAlgorithm } from './subject-key.js';

/**
 * The two X509-SVID leaf profiles, what `issueSpiffeLeaf` issues and `verifyCertificatePath`
 * requires:
 * - `node` (the default): nodes and apps, which serve TLS as well as call: EKU serverAuth +
 *   clientAuth, a P-256 key, any SPIFFE kind but `device`;
 * - `device`: a device of a city, which only ever calls its node: EKU clientAuth and never
 *   serverAuth (nor anyExtendedKeyUsage), so a device certificate can serve no TLS and pass
 *   for no node; a P-256 or Ed25519 key (devices commonly hold Ed25519 keys); a `device`
 *   SPIFFE id; no DNS SAN.
 */
export type LeafProfile = 'node' | 'device';

interface LeafProfileRules {
  /** Every one is required, and these are the ones issued. */
  readonly extKeyUsages: readonly string[];
  /** Refused even alongside the required ones. */
  readonly refusedExtKeyUsages: readonly string[];
  readonly keyAlgorithms: readonly SubjectKeyAlgorithm[];
  /** Whether the profile is for `device` SPIFFE ids (true) or for every other kind (false). */
  readonly forDevices: boolean;
  readonly dnsNames: boolean;
}

/** anyExtendedKeyUsage (RFC 5280 §4.2.1.12): would let a client-only leaf serve TLS to lenient peers. */
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

export const LEAF_PROFILES: Readonly<Record<LeafProfile, LeafProfileRules>> = Object.freeze({
  node: {
    extKeyUsages: [OID.serverAuth, OID.clientAuth],
    refusedExtKeyUsages: [],
    keyAlgorithms: ['P-256'],
    forDevices: false,
    dnsNames: true,
  },
  device: {
    extKeyUsages: [OID.clientAuth],
    refusedExtKeyUsages: [OID.serverAuth, ANY_EXTENDED_KEY_USAGE],
    keyAlgorithms: ['P-256', 'Ed25519'],
    forDevices: true,
    dnsNames: false,
  },
});

/** The profile option of the issuing and verifying functions: `node` when omitted. */
export function leafProfileOf(value: unknown, option = 'profile'): LeafProfile {
  if (value === undefined) return 'node';
  if (value === 'node' || value === 'device') return value;
  throw new TypeError(`${option} must be 'node' or 'device'`);
}

/** Why a leaf's EKU does not fit the profile (`leaf-extended-key-usage`), or null when it does. */
export function extKeyUsageProblem(profile: LeafProfile, eku: readonly string[] | null): string | null {
  const rules = LEAF_PROFILES[profile];
  const names = profile === 'node' ? 'serverAuth and clientAuth' : 'clientAuth';
  if (eku === null || !rules.extKeyUsages.every((usage) => eku.includes(usage))) {
    return `must have extendedKeyUsage with ${names} (${profile} profile, X509-SVID §4.4)`;
  }
  const refused = rules.refusedExtKeyUsages.find((usage) => eku.includes(usage));
  if (refused !== undefined) {
    return `has extendedKeyUsage ${refused === OID.serverAuth ? 'serverAuth' : refused}, which a ${profile} certificate must not: it is a TLS client only`;
  }
  return null;
}

/** Why a SPIFFE kind does not fit the profile (`leaf-profile`), or null when it does. */
export function kindProblem(profile: LeafProfile, kind: SpiffeKind): string | null {
  const forDevices = LEAF_PROFILES[profile].forDevices;
  if (forDevices === (kind === 'device')) return null;
  return forDevices
    ? `names a ${kind}; the device profile is for device SPIFFE ids only`
    : `names a device; device certificates have their own profile (client only)`;
}
