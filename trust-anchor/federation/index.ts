/**
 * citymesh federation: signing and pure, strict verification of OpenID Federation 1.0
 * entity statements and trust chains, and of the anchor's signed cluster metadata
 * (members, nodes, parameters, revocations, anchor key rollover).
 *
 * Every verifier takes `now` and data and does no I/O. Failures are `MeshError`s whose
 * `code` says which rule broke and whose `details.rule` names the exact check.
 *
 * Design choices:
 * - `naming_constraints` apply to the host of entity ids (RFC 5280 URI rules, as OpenID
 *   Federation 1.0 §6.2.2 says), for the subject of the constraining statement and every
 *   entity below it. SPIFFE trust domains are constrained by the X.509 name constraints of
 *   each city's CA, and `citymesh_node.trust_domain` must be `<city>.<cluster>.citymesh`.
 * - `crit` (JWS header and the statement claim) may list only what the caller declares it
 *   understands; by default nothing is.
 * - `metadata_policy` is not implemented, so a statement carrying it is refused
 *   (`TOKEN_CRIT_UNSUPPORTED`) rather than having its policy silently ignored.
 * - After an anchor key is revoked it is dropped from the pins; what it signs then fails
 *   with `TOKEN_KEY_UNKNOWN`. With `clusterMetadata`, a trust chain using a revoked key
 *   fails with `KEY_REVOKED` even when a stale pin still holds it.
 *
 * @packageDocumentation
 */

export { fail } from './failure.js';
export { type Instant, toSeconds } from './instant.js';
export { assertKeyFits, hasPrivateMembers, publicJwk, sameKeyMaterial } from './jwks.js';
export { privateKeyObject, signCompact } from './jws-native.js';
export { hostMatches, namingViolation } from './naming-constraints.js';
export { assertNotRevoked, findMember, findNode, findRevocation, type RevocationQuery } from './revocation.js';
export { signClusterMetadata, signEntityStatement, signHistoricalKeys, signResolveResponse } from './sign.js';
export {
  type AnchorGossip,
  CITYMESH_NODE_ENTITY_TYPE,
  type CitymeshNodeMetadata,
  CLUSTER_METADATA_TYP,
  type ClusterMember,
  type ClusterMetadataClaims,
  type ClusterNode,
  type ClusterParameters,
  ENTITY_STATEMENT_TYP,
  type EntityMetadata,
  type EntityStatementClaims,
  FEDERATION_ALGORITHMS,
  FEDERATION_ENTITY_TYPE,
  type FederationAlgorithm,
  type FederationEntityMetadata,
  type FederationJwk,
  type FederationSigningKey,
  HISTORICAL_KEYS_TYP,
  type HistoricalKey,
  type HistoricalKeysClaims,
  type JwkSet,
  type NamingConstraints,
  RESOLVE_RESPONSE_TYP,
  REVOCATION_KINDS,
  type ResolvedEntityMetadata,
  type ResolveResponseClaims,
  type Revocation,
  type RevocationKind,
  type StatementConstraints,
} from './types.js';
export {
  DEFAULT_MAX_AUTHORITY_HINTS,
  DEFAULT_MAX_PATH_LENGTH,
  MAX_PATH_LENGTH_LIMIT,
  type TrustAnchorPin,
  type VerifiedTrustChain,
  type VerifyTrustChainOptions,
  verifyTrustChain,
} from './verify-chain.js';
export {
  DEFAULT_LEEWAY_SECONDS,
  DEFAULT_MAX_TOKEN_BYTES,
  JWS_ALGORITHM_ALLOWLIST,
  type JwsHeader,
  KEY_SUPPLYING_HEADERS,
  MAX_LEEWAY_SECONDS,
  type VerifiedJws,
  type VerifyJwsOptions,
  verifyJws,
} from './verify-jws.js';
export {
  MAX_CLUSTER_METADATA_BYTES,
  nextPinnedAnchorKeys,
  type VerifiedClusterMetadata,
  type VerifyClusterMetadataOptions,
  verifyClusterMetadata,
} from './verify-metadata.js';
export {
  type VerifiedEntityStatement,
  type VerifyEntityStatementOptions,
  verifyEntityStatement,
} from './verify-statement.js';
