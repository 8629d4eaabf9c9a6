import type { ClusterMetadataClaims, JwkSet } from '../../trust-anchor/index.js';

/** Every member's federation keys in one set, and which city each `kid` belongs to. */
export interface GrantKeys {
  readonly version: number;
  readonly keys: JwkSet;
  readonly cityOf: ReadonlyMap<string, string>;
}

const byMetadata = new WeakMap<ClusterMetadataClaims, GrantKeys>();

/**
 * The grant verification keys of a metadata version, built once per version. The set
 * holds the metadata's own JWK objects, so `verifyJws` imports each key once and reuses it
 * (it caches imported keys per JWK object) for as long as the version is current.
 *
 * All members' keys are offered rather than only the presenter's, so that a grant signed
 * by another city verifies far enough to be refused for what it is (issued by another
 * city) instead of as an unknown key.
 */
export function grantKeysOf(metadata: ClusterMetadataClaims): GrantKeys {
  const found = byMetadata.get(metadata);
  if (found !== undefined && found.version === metadata.version) return found;
  const cityOf = new Map<string, string>();
  const keys: JwkSet['keys'] = [];
  for (const member of metadata.members) {
    for (const jwk of member.federation_jwks.keys) {
      keys.push(jwk);
      // A kid two cities share stays ambiguous in the set and verifyJws refuses it (kid-ambiguous).
      if (typeof jwk.kid === 'string') cityOf.set(jwk.kid, member.city);
    }
  }
  const built: GrantKeys = { version: metadata.version, keys: { keys }, cityOf };
  byMetadata.set(metadata, built);
  return built;
}
