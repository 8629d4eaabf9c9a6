import type { PublicJwk } from './json.js';

/** Who the anchor is: written once by `citymesh anchor init`. */
export type AnchorIdentity = {
  readonly cluster: string;
  /** The anchor's federation entity id (https URL). */
  readonly entityId: string;
  /** The cluster root CA certificate (PEM). */
  readonly rootCertificatePem: string;
  readonly createdAt: Date;
};

/** What the anchor keeps about an issued join token (never the secret itself). */
export type JoinTokenRecord = {
  readonly tokenId: string;
  readonly city: string;
  /** Hex SHA-256 of the token's secret. */
  readonly secretSha256: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  /** Set by the enrolment that used it. */
  readonly usedAt?: Date;
  /** SPIFFE ID of the node that used it. */
  readonly usedBy?: string;
};

/** One enrolled node of a member city. A city may run several. */
export type AnchorNode = {
  readonly city: string;
  /** Node name `<n>` of `spiffe://<city>.<cluster>.citymesh/node/<n>`. */
  readonly name: string;
  readonly spiffeId: string;
  /** The node's federation entity id (https URL). */
  readonly entityId: string;
  /** `host:port` of the node's mTLS gRPC endpoint. */
  readonly grpcEndpoint: string;
  /** The node's federation public keys; the city's statement lists the union over its nodes. */
  readonly federationJwks: readonly PublicJwk[];
  /** The city intermediate CA the anchor signed for this node (PEM). */
  readonly caCertificatePem: string;
  /** Its serial (hex), for certificate revocation. */
  readonly caSerial: string;
  /**
   * The CA this node held before its last renewal, still published until it expires so
   * the certificates it issued stay valid while the node moves to the new one.
   */
  readonly previousCaCertificatePem?: string;
  readonly enrolledAt: Date;
  /**
   * The node's libp2p peer id (base58, Ed25519), published in cluster metadata so peers
   * know which gossip identity is this node. Set together with `gossipAddress`, or
   * neither when the node does not gossip; no two nodes of a cluster share one.
   */
  readonly gossipPeerId?: string;
  /** The multiaddr its gossip listens on (`/ip4/127.0.0.1/tcp/7112`); with `gossipPeerId`. */
  readonly gossipAddress?: string;
};

/** A city CA renewal: the node's new CA, recorded with the metadata that publishes it. */
export type CaRenewal = {
  readonly city: string;
  readonly name: string;
  readonly caCertificatePem: string;
  readonly caSerial: string;
};

/** A member city with its nodes. */
export type AnchorMember = {
  readonly city: string;
  readonly regionCode: string;
  readonly trustDomain: string;
  readonly joinedAt: Date;
  readonly nodes: readonly AnchorNode[];
};

/** An entry of the signed revocation list. */
export type Revocation = {
  readonly kind: 'city' | 'node' | 'key' | 'certificate';
  /** City name, node SPIFFE ID, key id or certificate serial (hex). */
  readonly id: string;
  readonly reason: string;
  readonly revokedAt: Date;
  /** The metadata version that first carried it. */
  readonly version: number;
};

/** One signed cluster metadata version. */
export type MetadataVersion = {
  readonly version: number;
  /** The compact JWS as served. */
  readonly jwt: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
};

/**
 * All state of a trust anchor apart from its keys (those are in the KeyStore). Every
 * change that alters what the anchor signs commits together with the metadata version
 * that publishes it, so a crash leaves the old state and old version, or both new.
 */
export interface AnchorStore {
  /** The identity, or `undefined` before `anchor init`. */
  getIdentity(): Promise<AnchorIdentity | undefined>;
  /** Writes the identity once; a different identity afterwards fails with `ALREADY_EXISTS`. */
  putIdentity(identity: AnchorIdentity): Promise<void>;

  /** Stores a new token; a `tokenId` already present fails with `ALREADY_EXISTS`. */
  putJoinToken(record: JoinTokenRecord): Promise<void>;
  getJoinToken(tokenId: string): Promise<JoinTokenRecord | undefined>;

  getMember(city: string): Promise<AnchorMember | undefined>;
  /** Every member in city order, with nodes in name order. */
  listMembers(): Promise<readonly AnchorMember[]>;
  /** Every revocation in version order. */
  listRevocations(): Promise<readonly Revocation[]>;

  latestMetadata(): Promise<MetadataVersion | undefined>;
  getMetadata(version: number): Promise<MetadataVersion | undefined>;

  /**
   * In one transaction: marks the token used (it must exist and be unused, else
   * `JOIN_TOKEN_USED`), creates the member if new (with `member`'s region and trust
   * domain), inserts or replaces the node (same city and name; a replaced node's gossip
   * binding is replaced too, or dropped when the new one has none), and appends `metadata`
   * (its version must be the latest + 1, else `VERSION_CONFLICT`). A gossip peer id
   * another node holds fails with `ALREADY_EXISTS`. Nothing is written when any part fails.
   */
  enrol(input: {
    readonly tokenId: string;
    readonly usedAt: Date;
    readonly member: Omit<AnchorMember, 'nodes'>;
    readonly node: AnchorNode;
    readonly metadata: MetadataVersion;
  }): Promise<void>;

  /**
   * In one transaction: the node (which must exist, else `MEMBER_NOT_FOUND`) gets its new
   * CA, its current CA becomes its previous one, and `metadata` is appended (version
   * latest + 1, else `VERSION_CONFLICT`).
   */
  renewNodeCa(renewal: CaRenewal, metadata: MetadataVersion): Promise<void>;

  /** In one transaction: appends the revocation and `metadata` (version latest + 1). */
  revoke(revocation: Revocation, metadata: MetadataVersion): Promise<void>;

  /** Appends a metadata version (latest + 1, else `VERSION_CONFLICT`): refreshes and key rollover. */
  publishMetadata(metadata: MetadataVersion): Promise<void>;
}
