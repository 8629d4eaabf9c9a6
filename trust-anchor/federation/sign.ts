import { type JWTPayload, SignJWT } from 'jose';
import type { z } from 'zod';
import { parseEntityId } from './entity-id.js';
import { fail } from './failure.js';
import {
  clusterMetadataSchema,
  entityStatementSchema,
  historicalKeysSchema,
  parseClaims,
  resolveResponseSchema,
} from './schemas.js';
import {
  CLUSTER_METADATA_TYP,
  type ClusterMetadataClaims,
  ENTITY_STATEMENT_TYP,
  type EntityStatementClaims,
  FEDERATION_ALGORITHMS,
  type FederationSigningKey,
  HISTORICAL_KEYS_TYP,
  type HistoricalKeysClaims,
  RESOLVE_RESPONSE_TYP,
  type ResolveResponseClaims,
} from './types.js';

/**
 * Signs `claims` as a compact JWS with header `{ alg, kid, typ }` (jose `SignJWT`), after
 * checking them against the schema the verifiers use: what the anchor signs always parses.
 *
 * @throws MeshError `MALFORMED_REQUEST` when the claims break the schema
 * @throws TypeError when the key is not a usable signing key
 */
async function signTyped<T>(
  claims: object,
  key: FederationSigningKey,
  typ: string,
  schema: z.ZodType,
  what: string,
  check: (parsed: T) => void = () => {},
): Promise<string> {
  if (typeof key?.kid !== 'string' || key.kid === '') throw new TypeError('key.kid must be a non-empty string');
  if (!(FEDERATION_ALGORITHMS as readonly string[]).includes(key.alg)) {
    throw new TypeError(`key.alg must be one of ${FEDERATION_ALGORITHMS.join(', ')}`);
  }
  check(parseClaims<T>(schema, claims, what, 'MALFORMED_REQUEST'));
  return new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ }).sign(key.privateKey);
}

/** Refuses an entity id the verifiers would refuse (loopback `http` is left for them to judge). */
function checkEntityIds(ids: Record<string, unknown>): void {
  for (const [field, value] of Object.entries(ids)) {
    try {
      parseEntityId(value, field, true);
    } catch (err) {
      throw fail('MALFORMED_REQUEST', 'entity-id', `${field} is not an entity id`, { claim: field }, err);
    }
  }
}

/**
 * Signs an entity statement (OpenID Federation 1.0 §3), `typ: entity-statement+jwt`: an
 * entity configuration when `iss == sub`, otherwise a subordinate statement about `sub`.
 *
 * @throws MeshError `MALFORMED_REQUEST` when the claims break the schema
 */
export async function signEntityStatement(claims: EntityStatementClaims, key: FederationSigningKey): Promise<string> {
  checkEntityIds({ iss: claims?.iss, sub: claims?.sub });
  return signTyped(claims, key, ENTITY_STATEMENT_TYP, entityStatementSchema, 'entity statement');
}

/**
 * Signs the cluster metadata, `typ: citymesh-cluster-metadata+jwt`. `exp - iat` must not
 * exceed `parameters.metadata_lifetime_seconds` (the offline budget).
 *
 * @throws MeshError `MALFORMED_REQUEST` when the claims break the schema or the lifetime rule
 */
export async function signClusterMetadata(claims: ClusterMetadataClaims, key: FederationSigningKey): Promise<string> {
  checkEntityIds({
    iss: claims?.iss,
    ...Object.fromEntries((claims?.members ?? []).map((m, i) => [`members.${i}.entity_id`, m?.entity_id])),
  });
  if (claims.sub !== claims.iss)
    throw fail('MALFORMED_REQUEST', 'sub-equals-iss', 'cluster metadata sub must equal iss', { claim: 'sub' });
  return signTyped<ClusterMetadataClaims>(
    claims,
    key,
    CLUSTER_METADATA_TYP,
    clusterMetadataSchema,
    'cluster metadata',
    (parsed) => {
      if (parsed.exp - parsed.iat > parsed.parameters.metadata_lifetime_seconds) {
        throw fail('MALFORMED_REQUEST', 'metadata-lifetime', 'exp - iat exceeds parameters.metadata_lifetime_seconds', {
          claim: 'exp',
        });
      }
    },
  );
}

/**
 * Signs a historical keys response (OpenID Federation 1.0, historical keys endpoint),
 * `typ: jwk-set+jwt`: the anchor's retired federation keys, each with its `exp`.
 *
 * @throws MeshError `MALFORMED_REQUEST` when the claims break the schema
 */
export async function signHistoricalKeys(claims: HistoricalKeysClaims, key: FederationSigningKey): Promise<string> {
  checkEntityIds({ iss: claims?.iss });
  return signTyped(claims, key, HISTORICAL_KEYS_TYP, historicalKeysSchema, 'historical keys');
}

/**
 * Signs a resolve response (OpenID Federation 1.0, resolve endpoint), `typ: resolve-response+jwt`.
 *
 * @throws MeshError `MALFORMED_REQUEST` when the claims break the schema
 */
export async function signResolveResponse(claims: ResolveResponseClaims, key: FederationSigningKey): Promise<string> {
  checkEntityIds({ iss: claims?.iss, sub: claims?.sub });
  return signTyped(claims, key, RESOLVE_RESPONSE_TYP, resolveResponseSchema, 'resolve response');
}
