import { contentKey } from '../../common/content-key.js';
import type {
  AnchorIdentity,
  AnchorMember,
  AnchorNode,
  AnchorStore,
  CaRenewal,
  JoinTokenRecord,
  MetadataVersion,
  Revocation,
} from '../../common/stores/anchor-store.js';
import type { PublicJwk } from '../../common/stores/json.js';
import {
  checkIdentityRewrite,
  checkNextVersion,
  consumeToken,
  type Enrolment,
  gossipPeerIdTaken,
  joinTokenExists,
  revocationExists,
  unknownNode,
  validateCaRenewal,
  validateEnrolment,
  validateIdentity,
  validateJoinToken,
  validateMetadata,
  validateRevocation,
} from '../shared/anchor-rules.js';
import { requireInteger } from '../shared/validate.js';
import { fromMs, optionalDateField, optionalField, toMs } from './columns.js';
import type { SqliteDatabase } from './database.js';

type IdentityRow = {
  cluster: string;
  entity_id: string;
  root_certificate_pem: string;
  created_at: number;
};

type TokenRow = {
  token_id: string;
  city: string;
  secret_sha256: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  used_by: string | null;
};

type MemberRow = { city: string; region_code: string; trust_domain: string; joined_at: number };

type NodeRow = {
  city: string;
  name: string;
  spiffe_id: string;
  entity_id: string;
  grpc_endpoint: string;
  federation_jwks: string;
  ca_certificate_pem: string;
  ca_serial: string;
  previous_ca_certificate_pem: string | null;
  enrolled_at: number;
  gossip_peer_id: string | null;
  gossip_address: string | null;
};

type RevocationRow = { kind: Revocation['kind']; id: string; reason: string; revoked_at: number; version: number };

type MetadataRow = { version: number; jwt: string; issued_at: number; expires_at: number };

function identityFromRow(row: IdentityRow): AnchorIdentity {
  return {
    cluster: row.cluster,
    entityId: row.entity_id,
    rootCertificatePem: row.root_certificate_pem,
    createdAt: fromMs(row.created_at),
  };
}

function tokenFromRow(row: TokenRow): JoinTokenRecord {
  return {
    tokenId: row.token_id,
    city: row.city,
    secretSha256: row.secret_sha256,
    createdAt: fromMs(row.created_at),
    expiresAt: fromMs(row.expires_at),
    ...optionalDateField('usedAt', row.used_at),
    ...optionalField('usedBy', row.used_by),
  };
}

function nodeFromRow(row: NodeRow): AnchorNode {
  return {
    city: row.city,
    name: row.name,
    spiffeId: row.spiffe_id,
    entityId: row.entity_id,
    grpcEndpoint: row.grpc_endpoint,
    federationJwks: JSON.parse(row.federation_jwks) as PublicJwk[],
    caCertificatePem: row.ca_certificate_pem,
    caSerial: row.ca_serial,
    ...optionalField('previousCaCertificatePem', row.previous_ca_certificate_pem),
    enrolledAt: fromMs(row.enrolled_at),
    ...optionalField('gossipPeerId', row.gossip_peer_id),
    ...optionalField('gossipAddress', row.gossip_address),
  };
}

function nodeToRow(node: AnchorNode): NodeRow {
  return {
    city: node.city,
    name: node.name,
    spiffe_id: node.spiffeId,
    entity_id: node.entityId,
    grpc_endpoint: node.grpcEndpoint,
    federation_jwks: contentKey(node.federationJwks),
    ca_certificate_pem: node.caCertificatePem,
    ca_serial: node.caSerial,
    previous_ca_certificate_pem: node.previousCaCertificatePem ?? null,
    enrolled_at: toMs(node.enrolledAt),
    gossip_peer_id: node.gossipPeerId ?? null,
    gossip_address: node.gossipAddress ?? null,
  };
}

function memberFromRows(row: MemberRow, nodes: readonly NodeRow[]): AnchorMember {
  return {
    city: row.city,
    regionCode: row.region_code,
    trustDomain: row.trust_domain,
    joinedAt: fromMs(row.joined_at),
    nodes: nodes.map(nodeFromRow),
  };
}

function revocationFromRow(row: RevocationRow): Revocation {
  return { kind: row.kind, id: row.id, reason: row.reason, revokedAt: fromMs(row.revoked_at), version: row.version };
}

function metadataFromRow(row: MetadataRow): MetadataVersion {
  return { version: row.version, jwt: row.jwt, issuedAt: fromMs(row.issued_at), expiresAt: fromMs(row.expires_at) };
}

function metadataToRow(metadata: MetadataVersion): MetadataRow {
  return {
    version: metadata.version,
    jwt: metadata.jwt,
    issued_at: toMs(metadata.issuedAt),
    expires_at: toMs(metadata.expiresAt),
  };
}

/**
 * {@link AnchorStore} on SQLite. Each write is one IMMEDIATE transaction that reads the
 * token and the latest version under the write lock, so two anchors' processes sharing
 * the file cannot both use a token or publish the same version; triggers in the schema
 * hold the same line against any other writer.
 */
export class SqliteAnchorStore implements AnchorStore {
  readonly #selectIdentity;
  readonly #insertIdentity;
  readonly #selectToken;
  readonly #insertToken;
  readonly #useToken;
  readonly #selectMember;
  readonly #allMembers;
  readonly #insertMember;
  readonly #nodesOf;
  readonly #allNodes;
  readonly #upsertNode;
  readonly #selectNode;
  readonly #gossipHolder;
  readonly #renewCa;
  readonly #selectRevocation;
  readonly #insertRevocation;
  readonly #allRevocations;
  readonly #latestVersion;
  readonly #latestMetadata;
  readonly #selectMetadata;
  readonly #insertMetadata;
  readonly #readMember;
  readonly #readMembers;
  readonly #putIdentity;
  readonly #putJoinToken;
  readonly #enrol;
  readonly #revoke;
  readonly #publishMetadata;
  readonly #renewNodeCa;

  constructor(db: SqliteDatabase) {
    this.#selectIdentity = db.prepare<[], IdentityRow>('SELECT * FROM anchor_identity WHERE id = 1');
    this.#insertIdentity = db.prepare<[IdentityRow]>(
      `INSERT INTO anchor_identity (id, cluster, entity_id, root_certificate_pem, created_at)
       VALUES (1, @cluster, @entity_id, @root_certificate_pem, @created_at) ON CONFLICT (id) DO NOTHING`,
    );
    this.#selectToken = db.prepare<[string], TokenRow>('SELECT * FROM anchor_join_tokens WHERE token_id = ?');
    this.#insertToken = db.prepare<[TokenRow]>(
      `INSERT INTO anchor_join_tokens (token_id, city, secret_sha256, created_at, expires_at, used_at, used_by)
       VALUES (@token_id, @city, @secret_sha256, @created_at, @expires_at, @used_at, @used_by) ON CONFLICT (token_id) DO NOTHING`,
    );
    // `used_at IS NULL` makes the write itself the compare-and-set: even a writer that
    // skipped the read could not use a token twice.
    this.#useToken = db.prepare<{ token_id: string; used_at: number; used_by: string }>(
      'UPDATE anchor_join_tokens SET used_at = @used_at, used_by = @used_by WHERE token_id = @token_id AND used_at IS NULL',
    );
    this.#selectMember = db.prepare<[string], MemberRow>('SELECT * FROM anchor_members WHERE city = ?');
    this.#allMembers = db.prepare<[], MemberRow>('SELECT * FROM anchor_members ORDER BY city');
    this.#insertMember = db.prepare<[MemberRow]>(
      `INSERT INTO anchor_members (city, region_code, trust_domain, joined_at)
       VALUES (@city, @region_code, @trust_domain, @joined_at) ON CONFLICT (city) DO NOTHING`,
    );
    this.#nodesOf = db.prepare<[string], NodeRow>('SELECT * FROM anchor_nodes WHERE city = ? ORDER BY name');
    this.#allNodes = db.prepare<[], NodeRow>('SELECT * FROM anchor_nodes ORDER BY city, name');
    this.#upsertNode = db.prepare<[NodeRow]>(
      `INSERT INTO anchor_nodes (city, name, spiffe_id, entity_id, grpc_endpoint, federation_jwks, ca_certificate_pem, ca_serial,
         previous_ca_certificate_pem, enrolled_at, gossip_peer_id, gossip_address)
       VALUES (@city, @name, @spiffe_id, @entity_id, @grpc_endpoint, @federation_jwks, @ca_certificate_pem, @ca_serial,
         @previous_ca_certificate_pem, @enrolled_at, @gossip_peer_id, @gossip_address)
       ON CONFLICT (city, name) DO UPDATE SET spiffe_id = excluded.spiffe_id, entity_id = excluded.entity_id,
         grpc_endpoint = excluded.grpc_endpoint, federation_jwks = excluded.federation_jwks,
         ca_certificate_pem = excluded.ca_certificate_pem, ca_serial = excluded.ca_serial,
         previous_ca_certificate_pem = excluded.previous_ca_certificate_pem, enrolled_at = excluded.enrolled_at,
         gossip_peer_id = excluded.gossip_peer_id, gossip_address = excluded.gossip_address`,
    );
    this.#selectNode = db.prepare<[string, string], NodeRow>('SELECT * FROM anchor_nodes WHERE city = ? AND name = ?');
    this.#gossipHolder = db.prepare<[{ peer: string; city: string; name: string }], NodeRow>(
      `SELECT * FROM anchor_nodes WHERE gossip_peer_id = @peer AND NOT (city = @city AND name = @name)`,
    );
    this.#renewCa = db.prepare<[{ city: string; name: string; pem: string; serial: string }]>(
      `UPDATE anchor_nodes SET previous_ca_certificate_pem = ca_certificate_pem, ca_certificate_pem = @pem, ca_serial = @serial
       WHERE city = @city AND name = @name`,
    );
    this.#selectRevocation = db.prepare<[string, string], RevocationRow>(
      'SELECT * FROM anchor_revocations WHERE kind = ? AND id = ?',
    );
    this.#insertRevocation = db.prepare<[RevocationRow]>(
      `INSERT INTO anchor_revocations (kind, id, reason, revoked_at, version)
       VALUES (@kind, @id, @reason, @revoked_at, @version)`,
    );
    this.#allRevocations = db.prepare<[], RevocationRow>('SELECT * FROM anchor_revocations ORDER BY version, kind, id');
    this.#latestVersion = db.prepare<[], { version: number }>(
      'SELECT coalesce(max(version), 0) AS version FROM anchor_metadata_versions',
    );
    this.#latestMetadata = db.prepare<[], MetadataRow>(
      'SELECT * FROM anchor_metadata_versions ORDER BY version DESC LIMIT 1',
    );
    this.#selectMetadata = db.prepare<[number], MetadataRow>(
      'SELECT * FROM anchor_metadata_versions WHERE version = ?',
    );
    this.#insertMetadata = db.prepare<[MetadataRow]>(
      'INSERT INTO anchor_metadata_versions (version, jwt, issued_at, expires_at) VALUES (@version, @jwt, @issued_at, @expires_at)',
    );

    // A member and its nodes are two reads; one (deferred) transaction gives both the same
    // snapshot even while another connection enrols.
    this.#readMember = db.transaction((city: string): AnchorMember | undefined => {
      const row = this.#selectMember.get(city);
      return row === undefined ? undefined : memberFromRows(row, this.#nodesOf.all(city));
    });
    this.#readMembers = db.transaction((): AnchorMember[] => {
      const nodes = new Map<string, NodeRow[]>();
      for (const node of this.#allNodes.all()) {
        const list = nodes.get(node.city);
        if (list === undefined) nodes.set(node.city, [node]);
        else list.push(node);
      }
      return this.#allMembers.all().map((row) => memberFromRows(row, nodes.get(row.city) ?? []));
    });
    this.#putIdentity = db.transaction((identity: AnchorIdentity) => {
      const row: IdentityRow = {
        cluster: identity.cluster,
        entity_id: identity.entityId,
        root_certificate_pem: identity.rootCertificatePem,
        created_at: toMs(identity.createdAt),
      };
      if (this.#insertIdentity.run(row).changes === 1) return;
      checkIdentityRewrite(identityFromRow(this.#selectIdentity.get() as IdentityRow), identity);
    });
    this.#putJoinToken = db.transaction((record: JoinTokenRecord) => {
      const row: TokenRow = {
        token_id: record.tokenId,
        city: record.city,
        secret_sha256: record.secretSha256,
        created_at: toMs(record.createdAt),
        expires_at: toMs(record.expiresAt),
        used_at: null,
        used_by: null,
      };
      if (this.#insertToken.run(row).changes !== 1) throw joinTokenExists(record.tokenId);
    });
    // Checks first, writes after; a failing write still rolls the whole transaction back.
    this.#enrol = db.transaction((enrolment: Enrolment) => {
      const stored = this.#selectToken.get(enrolment.tokenId);
      const used = consumeToken(stored === undefined ? undefined : tokenFromRow(stored), enrolment);
      checkNextVersion(this.#latest(), enrolment.metadata);
      const { node } = enrolment;
      if (node.gossipPeerId !== undefined) {
        const holder = this.#gossipHolder.get({ peer: node.gossipPeerId, city: node.city, name: node.name });
        if (holder !== undefined) throw gossipPeerIdTaken(node, nodeFromRow(holder));
      }
      const use = { token_id: used.tokenId, used_at: toMs(enrolment.usedAt), used_by: enrolment.node.spiffeId };
      if (this.#useToken.run(use).changes !== 1) {
        throw new Error(`join token ${used.tokenId}: compare-and-set failed inside a write transaction`);
      }
      const { member } = enrolment;
      this.#insertMember.run({
        city: member.city,
        region_code: member.regionCode,
        trust_domain: member.trustDomain,
        joined_at: toMs(member.joinedAt),
      });
      this.#upsertNode.run(nodeToRow(enrolment.node));
      this.#insertMetadata.run(metadataToRow(enrolment.metadata));
    });
    this.#revoke = db.transaction((revocation: Revocation, metadata: MetadataVersion) => {
      if (this.#selectRevocation.get(revocation.kind, revocation.id) !== undefined) {
        throw revocationExists(revocation);
      }
      checkNextVersion(this.#latest(), metadata);
      // The metadata first: the revocation's version references it.
      this.#insertMetadata.run(metadataToRow(metadata));
      this.#insertRevocation.run({
        kind: revocation.kind,
        id: revocation.id,
        reason: revocation.reason,
        revoked_at: toMs(revocation.revokedAt),
        version: revocation.version,
      });
    });
    this.#renewNodeCa = db.transaction((renewal: CaRenewal, metadata: MetadataVersion) => {
      if (this.#selectNode.get(renewal.city, renewal.name) === undefined) throw unknownNode(renewal);
      checkNextVersion(this.#latest(), metadata);
      this.#renewCa.run({
        city: renewal.city,
        name: renewal.name,
        pem: renewal.caCertificatePem,
        serial: renewal.caSerial,
      });
      this.#insertMetadata.run(metadataToRow(metadata));
    });
    this.#publishMetadata = db.transaction((metadata: MetadataVersion) => {
      checkNextVersion(this.#latest(), metadata);
      this.#insertMetadata.run(metadataToRow(metadata));
    });
  }

  async getIdentity(): Promise<AnchorIdentity | undefined> {
    const row = this.#selectIdentity.get();
    return row === undefined ? undefined : identityFromRow(row);
  }

  async putIdentity(identity: AnchorIdentity): Promise<void> {
    this.#putIdentity.immediate(validateIdentity(identity));
  }

  async putJoinToken(record: JoinTokenRecord): Promise<void> {
    this.#putJoinToken.immediate(validateJoinToken(record));
  }

  async getJoinToken(tokenId: string): Promise<JoinTokenRecord | undefined> {
    const row = this.#selectToken.get(tokenId);
    return row === undefined ? undefined : tokenFromRow(row);
  }

  async getMember(city: string): Promise<AnchorMember | undefined> {
    return this.#readMember(city);
  }

  async listMembers(): Promise<readonly AnchorMember[]> {
    return this.#readMembers();
  }

  async listRevocations(): Promise<readonly Revocation[]> {
    return this.#allRevocations.all().map(revocationFromRow);
  }

  async latestMetadata(): Promise<MetadataVersion | undefined> {
    const row = this.#latestMetadata.get();
    return row === undefined ? undefined : metadataFromRow(row);
  }

  async getMetadata(version: number): Promise<MetadataVersion | undefined> {
    const row = this.#selectMetadata.get(requireInteger('version', version, 1));
    return row === undefined ? undefined : metadataFromRow(row);
  }

  async enrol(input: Enrolment): Promise<void> {
    this.#enrol.immediate(validateEnrolment(input));
  }

  async revoke(revocation: Revocation, metadata: MetadataVersion): Promise<void> {
    const checked = validateRevocation(revocation, metadata);
    this.#revoke.immediate(checked.revocation, checked.metadata);
  }

  async renewNodeCa(renewal: CaRenewal, metadata: MetadataVersion): Promise<void> {
    this.#renewNodeCa.immediate(validateCaRenewal(renewal), validateMetadata(metadata));
  }

  async publishMetadata(metadata: MetadataVersion): Promise<void> {
    this.#publishMetadata.immediate(validateMetadata(metadata));
  }

  #latest(): number {
    return (this.#latestVersion.get() as { version: number }).version;
  }
}
