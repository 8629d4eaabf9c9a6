import type { CryptoKey, JWK, KeyObject } from 'jose';

/** JWS algorithms the federation signs and verifies with; nothing else is ever accepted. */
export const FEDERATION_ALGORITHMS = ['ES256', 'EdDSA'] as const;

/** One of {@link FEDERATION_ALGORITHMS}. */
export type FederationAlgorithm = (typeof FEDERATION_ALGORITHMS)[number];

/** `typ` of entity configurations and subordinate statements (OpenID Federation 1.0 §3). */
export const ENTITY_STATEMENT_TYP = 'entity-statement+jwt';
/** `typ` of the signed cluster metadata document (citymesh). */
export const CLUSTER_METADATA_TYP = 'citymesh-cluster-metadata+jwt';
/** `typ` of the historical keys response (OpenID Federation 1.0, historical keys endpoint). */
export const HISTORICAL_KEYS_TYP = 'jwk-set+jwt';
/** `typ` of the resolve response (OpenID Federation 1.0, resolve endpoint). */
export const RESOLVE_RESPONSE_TYP = 'resolve-response+jwt';

/** Entity type of federation authorities (anchor, intermediates) in `metadata`. */
export const FEDERATION_ENTITY_TYPE = 'federation_entity';
/** citymesh's own entity type: a city node, in `metadata.citymesh_node`. */
export const CITYMESH_NODE_ENTITY_TYPE = 'citymesh_node';

/** A public JSON Web Key as carried in statements; `kid` is required in federation JWK sets. */
export type FederationJwk = JWK & { kid: string };

/** A JWK Set (RFC 7517 §5). */
export interface JwkSet {
  keys: JWK[];
}

/** `metadata.federation_entity` of the anchor (OpenID Federation 1.0, federation entity metadata). */
export interface FederationEntityMetadata {
  federation_fetch_endpoint?: string;
  federation_list_endpoint?: string;
  federation_resolve_endpoint?: string;
  federation_historical_keys_endpoint?: string;
  organization_name?: string;
  [parameter: string]: unknown;
}

/**
 * `metadata.citymesh_node`: what a city node is, as the anchor vouches for it in its
 * subordinate statement about the city.
 */
export interface CitymeshNodeMetadata {
  /** Cluster name, e.g. `jjj`. */
  cluster: string;
  /** City name, e.g. `beijing`. */
  city: string;
  /** GB/T 2260 code of the city. */
  region_code: string;
  /** `<city>.<cluster>.citymesh`: the SPIFFE trust domain the city's CA is constrained to. */
  trust_domain: string;
  /** `host:port` of the node's gRPC (mTLS) endpoint. */
  grpc_endpoint: string;
  /** Base https URL of the node (OIDC provider, federation endpoints). */
  https_endpoint: string;
  /** PEM certificates of the city's CA (intermediate), newest first. */
  ca_certificates: string[];
  [parameter: string]: unknown;
}

/**
 * `metadata` of an entity statement, keyed by entity type. In a subordinate statement it
 * holds only the parameters the superior sets over the subject's own, so entries may be partial.
 */
export interface EntityMetadata {
  federation_entity?: FederationEntityMetadata;
  citymesh_node?: Partial<CitymeshNodeMetadata>;
  [entityType: string]: Record<string, unknown> | undefined;
}

/** The subject's metadata once a trust chain resolved it: `citymesh_node`, when present, is complete. */
export interface ResolvedEntityMetadata {
  federation_entity?: FederationEntityMetadata;
  citymesh_node?: CitymeshNodeMetadata;
  [entityType: string]: Record<string, unknown> | undefined;
}

/** Naming constraints on entity identifiers (OpenID Federation 1.0 §6.2.2; RFC 5280 §4.2.1.10 URI rules). */
export interface NamingConstraints {
  /** Hosts allowed: `host` exactly, or `.domain` for any host below `domain`. */
  permitted: string[];
  /** Hosts refused, same syntax; excluded wins over permitted. */
  excluded?: string[];
}

/** `constraints` of a subordinate statement (OpenID Federation 1.0 §6.2). */
export interface StatementConstraints {
  /** Most intermediates allowed between the issuer of this statement and the chain's subject. */
  max_path_length?: number;
  naming_constraints?: NamingConstraints;
  /** Entity types the chain subject may have; `federation_entity` is always allowed. */
  allowed_entity_types?: string[];
}

/**
 * Claims of an entity statement (OpenID Federation 1.0 §3): an entity configuration when
 * `iss == sub` (self-signed, published at `/.well-known/openid-federation`), otherwise a
 * subordinate statement by `iss` about `sub`.
 */
export interface EntityStatementClaims {
  iss: string;
  sub: string;
  iat: number;
  exp: number;
  /** The subject's federation keys; in a subordinate statement, the superior vouches for them. */
  jwks: JwkSet;
  /** Entity configurations only: the superiors that issue statements about this entity. */
  authority_hints?: string[];
  metadata?: EntityMetadata;
  /** Subordinate statements only. */
  constraints?: StatementConstraints;
  /** Names of extension claims that must be understood (OpenID Federation 1.0 §3.1). */
  crit?: string[];
  /**
   * Not supported by citymesh: a statement carrying it is refused (`TOKEN_CRIT_UNSUPPORTED`)
   * rather than having its policy silently ignored.
   */
  metadata_policy?: Record<string, unknown>;
  /** Not supported, refused like `metadata_policy`. */
  metadata_policy_crit?: string[];
  source_endpoint?: string;
  [claim: string]: unknown;
}

/** One node of a member city, as listed in cluster metadata. */
export interface ClusterNode {
  /** Node name, unique in the city (`node-1`). */
  name: string;
  /** `spiffe://<city>.<cluster>.citymesh/node/<name>`. */
  spiffe_id: string;
  grpc_endpoint: string;
  https_endpoint: string;
  /** libp2p peer id (Ed25519, base58) for gossip, when the node gossips. */
  gossip_peer_id?: string;
  /** The multiaddr the node's gossip listens on (`/ip4/127.0.0.1/tcp/7112`); with `gossip_peer_id`. */
  gossip_address?: string;
  [field: string]: unknown;
}

/** One member city of the cluster. */
export interface ClusterMember {
  city: string;
  /** The city's federation entity id (https URL). */
  entity_id: string;
  region_code: string;
  /** `<city>.<cluster>.citymesh`. */
  trust_domain: string;
  /** The city's federation keys, as in the anchor's subordinate statement about it. */
  federation_jwks: JwkSet;
  /** PEM certificates of the city's intermediate CA. */
  ca_certificates: string[];
  nodes: ClusterNode[];
  [field: string]: unknown;
}

/** Cluster-wide parameters the anchor publishes. */
export interface ClusterParameters {
  /** The offline budget: how long a metadata document lives (`exp - iat`). */
  metadata_lifetime_seconds: number;
  certificate_lifetime_hours: number;
  [parameter: string]: unknown;
}

/** What a revocation names: `id` is a city name, a node SPIFFE id, a `kid`, or a certificate serial (hex). */
export const REVOCATION_KINDS = ['city', 'node', 'key', 'certificate'] as const;

/** One of {@link REVOCATION_KINDS}. */
export type RevocationKind = (typeof REVOCATION_KINDS)[number];

/** One entry of the signed revocation list. */
export interface Revocation {
  kind: RevocationKind;
  id: string;
  reason: string;
  /** NumericDate of the revocation. Effective at once, whatever this says. */
  revoked_at: number;
  /** The metadata version that first carried this revocation. */
  version: number;
}

/** Claims of the signed cluster metadata (`typ` {@link CLUSTER_METADATA_TYP}). */
export interface ClusterMetadataClaims {
  /** The anchor's entity id. */
  iss: string;
  /** Equal to `iss`. */
  sub: string;
  cluster: string;
  /** Only grows; a verifier never goes back to an older one. */
  version: number;
  iat: number;
  exp: number;
  /** The anchor's current and next federation keys: verifiers pin them (rollover). */
  anchor_keys: JwkSet;
  members: ClusterMember[];
  parameters: ClusterParameters;
  revocations: Revocation[];
  /** Where the anchor itself publishes on the cluster's gossip topics, when it does. */
  gossip?: AnchorGossip;
  [claim: string]: unknown;
}

/** The anchor's own gossip identity, bound to it by the signature over the metadata. */
export interface AnchorGossip {
  anchor_peer_id: string;
  anchor_address: string;
}

/** A key in a historical keys response: a retired federation key with its `exp`. */
export type HistoricalKey = JWK & {
  kid: string;
  /** When the key stopped being used to sign (required). */
  exp: number;
  iat?: number;
  revoked?: { revoked_at: number; reason?: string };
};

/** Claims of a historical keys response (`typ` {@link HISTORICAL_KEYS_TYP}). */
export interface HistoricalKeysClaims {
  iss: string;
  iat: number;
  keys: HistoricalKey[];
  [claim: string]: unknown;
}

/** Claims of a resolve response (`typ` {@link RESOLVE_RESPONSE_TYP}). */
export interface ResolveResponseClaims {
  iss: string;
  sub: string;
  iat: number;
  exp: number;
  metadata: ResolvedEntityMetadata;
  trust_chain: string[];
  trust_marks?: unknown[];
  [claim: string]: unknown;
}

/** A private signing key with its `kid`. Keep KeyObjects: re-parsing PEM per call costs 3–5×. */
export interface FederationSigningKey {
  kid: string;
  privateKey: CryptoKey | KeyObject;
  alg: FederationAlgorithm;
}
