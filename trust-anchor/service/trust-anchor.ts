import { X509Certificate } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { Clock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import { gossipAddressProblem, gossipPeerIdProblem } from '../../common/gossip/binding.js';
import {
  formatSpiffeId,
  formatTrustDomain,
  getCity,
  parseCityName,
  parseNodeName,
  parseSpiffeId,
} from '../../common/ids/index.js';
import { type Logger, silentLogger } from '../../common/logger.js';
import type {
  AnchorIdentity,
  AnchorMember,
  AnchorNode,
  MetadataVersion,
  PublicJwk,
  Revocation,
  StoredKey,
  Stores,
} from '../../common/stores/index.js';
import { checkJoinToken, createJoinToken, parseJoinToken, rootPinOf } from '../enrol/join-token.js';
import { parseEntityId } from '../federation/entity-id.js';
import {
  CITYMESH_NODE_ENTITY_TYPE,
  type ClusterMetadataClaims,
  type EntityStatementClaims,
  type HistoricalKey,
  hasPrivateMembers,
  signClusterMetadata,
  signEntityStatement,
  signHistoricalKeys,
  signResolveResponse,
  verifyTrustChain,
} from '../federation/index.js';
import {
  createClusterRootCa,
  issueCityIntermediateCa,
  issueTlsServerCert,
  verifyCertificatePath,
} from '../x509/index.js';
import { type ConfigurationFetcher, fetchEntityConfiguration } from './fetch-configuration.js';
import { activeKey, createKey, keysWith, type LoadedKey, publishedJwk, signingKey } from './key-material.js';
import {
  type AnchorGossipBinding,
  buildMetadataClaims,
  type ClusterParameters,
  cityEntityId,
  cityJwks,
  memberCaCertificates,
} from './metadata.js';

/** What {@link TrustAnchor} runs on. */
export interface TrustAnchorComponents {
  readonly stores: Pick<Stores, 'keys' | 'anchor'>;
  readonly clock: Clock;
  readonly logger?: Logger;
}

/** Settings from the anchor's configuration. */
export interface TrustAnchorSettings extends ClusterParameters {
  readonly joinTokenLifetimeSeconds: number;
  /** Accept `http://` loopback entity ids (development only). */
  readonly allowLoopbackHttp?: boolean;
  /** The anchor's gossip identity, published in every metadata version; absent: the anchor does not gossip. */
  readonly gossip?: AnchorGossipBinding;
}

/** What a joining node sends (the domain form of `EnrolRequest`). */
export interface EnrolInput {
  readonly joinToken: string;
  readonly city: string;
  readonly nodeName: string;
  readonly caCsrPem: string;
  readonly entityId: string;
  readonly federationJwks: readonly PublicJwk[];
  readonly grpcEndpoint: string;
  /** The node's base58 Ed25519 libp2p peer id; with `gossipAddress`, or neither. */
  readonly gossipPeerId?: string;
  /** The multiaddr its gossip listens on (`/ip4|/ip6|/dns4|/dns6/<host>/tcp/<port>`). */
  readonly gossipAddress?: string;
}

/** What it gets back (the domain form of `EnrolResponse`). */
export interface EnrolResult {
  readonly cluster: string;
  readonly nodeId: string;
  readonly cityCaPem: string;
  readonly trustBundlePem: string;
  readonly subordinateStatement: string;
  readonly clusterMetadata: string;
  readonly metadataVersion: number;
  readonly anchorEntityId: string;
  readonly anchorKeys: readonly PublicJwk[];
}

const ENDPOINT = /^[A-Za-z0-9.-]{1,253}:\d{1,5}$/;

/**
 * The cluster's root of trust. Every change to what it signs (a member, a revocation, a
 * key) is committed together with the metadata version that publishes it, and changes
 * are serialized so versions never race.
 */
export class TrustAnchor {
  readonly #stores: TrustAnchorComponents['stores'];
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #settings: TrustAnchorSettings;
  readonly #identity: AnchorIdentity;
  readonly #root: LoadedKey;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    c: TrustAnchorComponents,
    settings: TrustAnchorSettings,
    identity: AnchorIdentity,
    root: LoadedKey,
  ) {
    this.#stores = c.stores;
    this.#clock = c.clock;
    this.#log = c.logger ?? silentLogger;
    this.#settings = settings;
    this.#identity = identity;
    this.#root = root;
  }

  /**
   * Creates the cluster: root CA key and certificate, the first federation key, the TLS
   * key of the anchor's HTTPS endpoint, the identity, and metadata version 1.
   * Refuses a store that already holds an anchor (`ALREADY_EXISTS`).
   */
  static async initialize(
    c: TrustAnchorComponents,
    settings: TrustAnchorSettings,
    input: { cluster: string; entityId: string; rootLifetimeDays?: number; tlsDnsNames?: readonly string[] },
  ): Promise<TrustAnchor> {
    checkAnchorGossip(settings.gossip);
    if (await c.stores.anchor.getIdentity()) {
      throw new MeshError('ALREADY_EXISTS', 'this store already holds a trust anchor; use a new --dir', {
        details: { field: 'dir' },
      });
    }
    parseEntityId(input.entityId, 'entityId', settings.allowLoopbackHttp ?? false);
    const now = c.clock.now();
    let rootPem = '';
    const root = await createKey(c.stores.keys, {
      purpose: 'ca',
      status: 'active',
      now,
      certificatePem: async (keys) => {
        rootPem = (
          await createClusterRootCa({ cluster: input.cluster, keys, now, lifetimeDays: input.rootLifetimeDays ?? 3650 })
        ).pem;
        return rootPem;
      },
    });
    await createKey(c.stores.keys, { purpose: 'federation', status: 'active', now });
    await createKey(c.stores.keys, {
      purpose: 'tls',
      status: 'active',
      now,
      certificatePem: async (keys) =>
        (
          await issueTlsServerCert({
            publicKey: keys.publicKey,
            issuerCertPem: rootPem,
            issuerKeys: root.pair,
            now,
            lifetimeHours: 24 * 365,
            dnsNames: input.tlsDnsNames ?? ['localhost'],
          })
        ).pem,
    });
    const identity: AnchorIdentity = {
      cluster: input.cluster,
      entityId: input.entityId,
      rootCertificatePem: rootPem,
      createdAt: now,
    };
    await c.stores.anchor.putIdentity(identity);
    const anchor = new TrustAnchor(c, settings, identity, root);
    await anchor.#serialized(async () => c.stores.anchor.publishMetadata(await anchor.#nextMetadata({})));
    return anchor;
  }

  /** Opens an initialized anchor (`citymesh anchor init` ran on this store). */
  static async open(c: TrustAnchorComponents, settings: TrustAnchorSettings): Promise<TrustAnchor> {
    checkAnchorGossip(settings.gossip);
    const identity = await c.stores.anchor.getIdentity();
    if (identity === undefined) {
      throw new MeshError('MEMBER_NOT_FOUND', 'no trust anchor in this store; run `citymesh anchor init` first', {
        details: { field: 'dir' },
      });
    }
    const anchor = new TrustAnchor(c, settings, identity, await activeKey(c.stores.keys, 'ca'));
    await anchor.#completeInterruptedKeyRevocations();
    return anchor;
  }

  /**
   * A key revocation marks the key, then publishes the metadata naming it; a crash in
   * between leaves a revoked key no metadata mentions. Publish those on the next open.
   */
  async #completeInterruptedKeyRevocations(): Promise<void> {
    const published = new Set(
      (await this.#stores.anchor.listRevocations()).filter((r) => r.kind === 'key').map((r) => r.id),
    );
    const revoked = (await this.#stores.keys.list({ status: 'revoked' }, { pageSize: 1000 })).items;
    for (const key of revoked.filter((k) => !published.has(k.kid))) {
      await this.#publishRevocation('key', key.kid, 'revoked; publication completed after an interruption');
      this.#log.warn({ event: 'entity.revoked', kind: 'key', id: key.kid }, 'completed an interrupted key revocation');
    }
  }

  get identity(): AnchorIdentity {
    return this.#identity;
  }

  /** The cluster root certificate: the X.509 trust bundle. */
  get trustBundlePem(): string {
    return this.#identity.rootCertificatePem;
  }

  /** The anchor's HTTPS key and certificate chain. */
  async tlsCredentials(): Promise<{ keyPem: string; certPem: string }> {
    const tls = await activeKey(this.#stores.keys, 'tls');
    return { keyPem: tls.stored.privateKeyPem!, certPem: `${tls.stored.certificatePem!}${this.trustBundlePem}` };
  }

  /** Issues a one-time join token for `city`, bound to it and pinning the cluster root. */
  async invite(city: string): Promise<{ token: string; tokenId: string; expiresAt: Date }> {
    this.#cityOfCluster(city);
    await this.#refuseRevokedCity(city);
    const { token, record } = createJoinToken({
      city,
      rootPin: rootPinOf(this.trustBundlePem),
      now: this.#clock.now(),
      lifetimeSeconds: this.#settings.joinTokenLifetimeSeconds,
    });
    await this.#stores.anchor.putJoinToken(record);
    this.#log.info({ event: 'join_token.issued', city, tokenId: record.tokenId }, 'join token issued');
    return { token, tokenId: record.tokenId, expiresAt: record.expiresAt };
  }

  /**
   * Enrols a city node: checks the token, signs the city intermediate CA for the node's
   * key, and in one transaction marks the token used, records the node and publishes a
   * metadata version that lists it.
   */
  async enrol(input: EnrolInput): Promise<EnrolResult> {
    const now = this.#clock.now();
    const presented = parseJoinToken(input.joinToken);
    checkJoinToken(presented, await this.#stores.anchor.getJoinToken(presented.tokenId), { city: input.city, now });
    const city = parseCityName(input.city);
    const info = this.#cityOfCluster(city);
    await this.#refuseRevokedCity(city);
    const name = parseNodeName(input.nodeName, 'nodeName');
    parseEntityId(input.entityId, 'entityId', this.#settings.allowLoopbackHttp ?? false);
    if (!ENDPOINT.test(input.grpcEndpoint)) {
      throw badField('grpcEndpoint', `must be host:port, got "${input.grpcEndpoint}"`);
    }
    const federationJwks = checkFederationJwks(input.federationJwks);
    const gossip = checkGossipBinding(input);
    const ca = await issueCityIntermediateCa({
      csrPem: input.caCsrPem,
      cluster: this.#identity.cluster,
      city,
      issuerCertPem: this.trustBundlePem,
      issuerKeys: this.#root.pair,
      now,
      lifetimeHours: this.#settings.cityCaLifetimeHours,
    });
    const node: AnchorNode = {
      city,
      name,
      spiffeId: formatSpiffeId({ cluster: this.#identity.cluster, city, kind: 'node', name }),
      entityId: input.entityId,
      grpcEndpoint: input.grpcEndpoint,
      federationJwks,
      caCertificatePem: ca.pem,
      caSerial: ca.serial,
      enrolledAt: now,
      ...gossip,
    };
    const member = {
      city,
      regionCode: info.region,
      trustDomain: formatTrustDomain(this.#identity.cluster, city),
      joinedAt: now,
    };
    const metadata = await this.#serialized(async () => {
      const existing = await this.#stores.anchor.getMember(city);
      if (existing?.nodes.some((n) => n.name !== name) && cityEntityId(existing) !== input.entityId) {
        throw badField(
          'entityId',
          `city ${city} is already enrolled as ${cityEntityId(existing)}; every node of a city shares it`,
        );
      }
      if (node.gossipPeerId !== undefined) await this.#refuseBoundPeerId(node);
      const next = await this.#nextMetadata({ node: { ...member, node } });
      await this.#stores.anchor.enrol({ tokenId: presented.tokenId, usedAt: now, member, node, metadata: next });
      return next;
    });
    this.#log.info({ event: 'node.enrolled', city, node: node.spiffeId, version: metadata.version }, 'node enrolled');
    const enrolled = (await this.#stores.anchor.getMember(city))!;
    return {
      cluster: this.#identity.cluster,
      nodeId: node.spiffeId,
      cityCaPem: ca.pem,
      trustBundlePem: this.trustBundlePem,
      subordinateStatement: await this.#subordinateStatement(enrolled),
      clusterMetadata: metadata.jwt,
      metadataVersion: metadata.version,
      anchorKeys: (await this.#publishedAnchorKeys()).map(publishedJwk),
      anchorEntityId: this.#identity.entityId,
    };
  }

  /**
   * Signs a new city CA for an enrolled node's new key (TrustService.RenewCityCa). The
   * caller is the node itself, proven by its current SVID from the mTLS handshake: it
   * must chain through that node's own current or previous CA, and neither the node nor
   * its city may be revoked. The new CA and the metadata listing it are committed
   * together; the old CA stays listed until it expires.
   */
  async renewCityCa(input: { clientCertificatePems: readonly string[]; caCsrPem: string }): Promise<{
    cityCaPem: string;
    expiresAt: Date;
    metadataVersion: number;
  }> {
    const now = this.#clock.now();
    const leafPem = input.clientCertificatePems[0];
    if (leafPem === undefined) {
      throw new MeshError(
        'CREDENTIALS_MISSING',
        'RenewCityCa needs the node certificate as the TLS client certificate',
        {},
      );
    }
    const claimed = spiffeOfLeaf(leafPem);
    const member = await this.#stores.anchor.getMember(claimed.city);
    const node = member?.nodes.find((n) => n.spiffeId === claimed.spiffeId);
    if (member === undefined || node === undefined) throw notMember(`no enrolled node ${claimed.spiffeId}`);
    await this.#refuseRevokedCity(member.city);
    const revocations = await this.#stores.anchor.listRevocations();
    if (revocations.some((r) => r.kind === 'node' && r.id === node.spiffeId)) {
      throw new MeshError('NODE_REVOKED', `node ${node.spiffeId} is revoked`, { details: { node: node.spiffeId } });
    }
    const revokedSerials = revocations.filter((r) => r.kind === 'certificate').map((r) => r.id);
    verifyLeafThroughNodeCa(leafPem, node, this.trustBundlePem, now, revokedSerials);
    const ca = await issueCityIntermediateCa({
      csrPem: input.caCsrPem,
      cluster: this.#identity.cluster,
      city: member.city,
      issuerCertPem: this.trustBundlePem,
      issuerKeys: this.#root.pair,
      now,
      lifetimeHours: this.#settings.cityCaLifetimeHours,
    });
    const metadata = await this.#serialized(async () => {
      const renewed: AnchorNode = {
        ...node,
        caCertificatePem: ca.pem,
        caSerial: ca.serial,
        previousCaCertificatePem: node.caCertificatePem,
      };
      const { nodes: _nodes, ...memberInfo } = member;
      const next = await this.#nextMetadata({ node: { ...memberInfo, node: renewed } });
      await this.#stores.anchor.renewNodeCa(
        { city: member.city, name: node.name, caCertificatePem: ca.pem, caSerial: ca.serial },
        next,
      );
      return next;
    });
    this.#log.info({ event: 'city_ca.renewed', node: node.spiffeId, version: metadata.version }, 'city CA renewed');
    return { cityCaPem: ca.pem, expiresAt: ca.notAfter, metadataVersion: metadata.version };
  }

  /**
   * The current signed metadata. Past half its lifetime a fresh version with the same
   * content is published first, so nodes always hold at least half a budget.
   */
  async currentMetadata(): Promise<MetadataVersion> {
    const latest = await this.#stores.anchor.latestMetadata();
    const nowMs = this.#clock.nowMs();
    if (latest && nowMs < latest.issuedAt.getTime() + (latest.expiresAt.getTime() - latest.issuedAt.getTime()) / 2) {
      return latest;
    }
    return this.#serialized(async () => {
      const next = await this.#nextMetadata({});
      await this.#stores.anchor.publishMetadata(next);
      return next;
    });
  }

  /** The anchor's entity configuration (`/.well-known/openid-federation`). */
  async entityConfiguration(): Promise<string> {
    const now = this.#clock.nowSeconds();
    const base = this.#identity.entityId.replace(/\/$/, '');
    const keys = await this.#publishedAnchorKeys();
    return signEntityStatement(
      {
        iss: this.#identity.entityId,
        sub: this.#identity.entityId,
        iat: now,
        exp: now + this.#settings.metadataLifetimeSeconds,
        jwks: { keys: keys.map(publishedJwk) },
        metadata: {
          federation_entity: {
            federation_fetch_endpoint: `${base}/fetch`,
            federation_list_endpoint: `${base}/list`,
            federation_historical_keys_endpoint: `${base}/historical-keys`,
            federation_resolve_endpoint: `${base}/resolve`,
            organization_name: `citymesh ${this.#identity.cluster} trust anchor`,
          },
        },
      },
      signingKey(await activeKey(this.#stores.keys, 'federation')),
    );
  }

  /** The anchor's statement about the city whose entity id is `sub` (federation fetch). */
  async fetchStatement(sub: string): Promise<string> {
    const members = await this.#stores.anchor.listMembers();
    const member = members.find((m) => m.nodes.length > 0 && cityEntityId(m) === sub);
    if (member === undefined) {
      throw new MeshError('MEMBER_NOT_FOUND', `no subordinate with entity id ${sub}`, { details: { field: 'sub' } });
    }
    // A fresh statement would let a chain through for a revoked city until it expired.
    await this.#refuseRevokedCity(member.city);
    return this.#subordinateStatement(member);
  }

  /**
   * Resolves a member city (federation resolve): fetches its entity configuration,
   * verifies the chain it forms with this anchor's statement and configuration, and
   * signs the resolved metadata. Only enrolled, unrevoked members are fetched.
   */
  async resolve(
    sub: string,
    options: { entityTypes?: readonly string[]; fetch?: ConfigurationFetcher } = {},
  ): Promise<{ jwt: string; trustChain: string[]; expiresAt: Date }> {
    const statement = await this.fetchStatement(sub);
    const configuration = await (options.fetch ?? fetchEntityConfiguration)(sub, this.trustBundlePem);
    const trustChain = [configuration, statement, await this.entityConfiguration()];
    const now = this.#clock.nowSeconds();
    const latest = await this.currentMetadata();
    const verified = await verifyTrustChain(trustChain, {
      trustAnchors: [
        { entityId: this.#identity.entityId, jwks: { keys: (await this.#publishedAnchorKeys()).map(publishedJwk) } },
      ],
      now,
      subjectEntityId: sub,
      clusterMetadata: decodeJwt(latest.jwt) as unknown as ClusterMetadataClaims,
      allowLoopbackHttp: this.#settings.allowLoopbackHttp ?? false,
    });
    const wanted = options.entityTypes ?? [];
    const metadata = Object.fromEntries(
      Object.entries(verified.metadata).filter(([type]) => wanted.length === 0 || wanted.includes(type)),
    );
    const jwt = await signResolveResponse(
      { iss: this.#identity.entityId, sub, iat: now, exp: verified.exp, metadata, trust_chain: trustChain },
      signingKey(await activeKey(this.#stores.keys, 'federation')),
    );
    return { jwt, trustChain, expiresAt: new Date(verified.exp * 1000) };
  }

  /** Entity ids of every member city that is not revoked (federation list). */
  async listSubordinates(): Promise<string[]> {
    const revoked = new Set(
      (await this.#stores.anchor.listRevocations()).filter((r) => r.kind === 'city').map((r) => r.id),
    );
    return (await this.#stores.anchor.listMembers())
      .filter((m) => m.nodes.length > 0 && !revoked.has(m.city))
      .map(cityEntityId);
  }

  /** Retired and revoked anchor keys (federation historical keys), signed. */
  async historicalKeys(): Promise<string> {
    const retired = await keysWith(this.#stores.keys, 'federation', 'retired');
    const revoked = await keysWith(this.#stores.keys, 'federation', 'revoked');
    const lifetime = this.#settings.metadataLifetimeSeconds;
    const keys: HistoricalKey[] = [...retired, ...revoked].map((k) => {
      const endedMs = (k.revokedAt ?? k.retiredAt ?? k.createdAt).getTime();
      return {
        ...k.publicJwk,
        kid: k.kid,
        alg: k.alg,
        iat: Math.floor(k.createdAt.getTime() / 1000),
        // What the key signed expires at most one metadata lifetime after it stopped signing.
        exp: Math.floor(endedMs / 1000) + lifetime,
        ...(k.revokedAt ? { revoked: { revoked_at: Math.floor(k.revokedAt.getTime() / 1000) } } : {}),
      };
    });
    return signHistoricalKeys(
      { iss: this.#identity.entityId, iat: this.#clock.nowSeconds(), keys },
      signingKey(await activeKey(this.#stores.keys, 'federation')),
    );
  }

  /** Revokes a city, node, key or certificate: a new metadata version at once. */
  async revoke(kind: Revocation['kind'], id: string, reason: string): Promise<MetadataVersion> {
    if (reason.trim() === '') throw badField('reason', 'is required');
    const members = await this.#stores.anchor.listMembers();
    if (kind === 'city' && !members.some((m) => m.city === id)) throw notMember(`city ${id} is not a member`);
    if (kind === 'node' && !members.some((m) => m.nodes.some((n) => n.spiffeId === id))) {
      throw notMember(`no enrolled node ${id}`);
    }
    const key = kind === 'key' ? await this.#stores.keys.get(id) : undefined;
    if (key) {
      // Any active key of the anchor's own store is in use: the federation signer (rotate it
      // out first), the cluster root CA or the HTTPS key, without which the anchor cannot
      // be opened or served again.
      if (key.status === 'active') {
        throw badField(
          'id',
          key.purpose === 'federation'
            ? `key ${id} is the anchor's active key; rotate it out first (anchor rotate)`
            : `key ${id} is the anchor's active ${key.purpose} key; revoking it would leave the anchor unable to start`,
        );
      }
    }
    const metadata = await this.#publishRevocation(kind, id, reason, key !== undefined);
    this.#log.warn({ event: 'entity.revoked', kind, id, reason, version: metadata.version }, 'revoked');
    return metadata;
  }

  #publishRevocation(kind: Revocation['kind'], id: string, reason: string, ownKey = false): Promise<MetadataVersion> {
    return this.#serialized(async () => {
      const latest = await this.#stores.anchor.latestMetadata();
      const revocation: Revocation = {
        kind,
        id,
        reason,
        revokedAt: this.#clock.now(),
        version: (latest?.version ?? 0) + 1,
      };
      // The key is marked first: after a crash here it cannot sign or be activated, and
      // open() publishes the revocation the metadata still lacks.
      if (ownKey) await this.#stores.keys.setStatus(id, 'revoked', revocation.revokedAt);
      const next = await this.#nextMetadata({ revocation });
      await this.#stores.anchor.revoke(revocation, next);
      return next;
    });
  }

  /**
   * Two-stage rollover of the anchor's federation key. `publish` creates the next key
   * and announces it in metadata signed by the current key, so verifiers pin it;
   * `activate` makes it the signer and retires the old key, which the historical-keys
   * endpoint then lists. Activation waits one metadata lifetime after publication: by
   * then every metadata document a node may still hold was issued with the next key in
   * it, so no node meets a signer it has not pinned. `force` skips the wait (a
   * compromised key), leaving nodes that did not refresh in time to re-join.
   */
  async rotate(
    stage: 'publish' | 'activate',
    options: { force?: boolean } = {},
  ): Promise<{ kid: string; version: number }> {
    return this.#serialized(async () => {
      const now = this.#clock.now();
      const pending = await keysWith(this.#stores.keys, 'federation', 'next');
      if (stage === 'publish') {
        const next =
          pending[0] ?? (await createKey(this.#stores.keys, { purpose: 'federation', status: 'next', now })).stored;
        const version = await this.#nextMetadata({});
        await this.#stores.anchor.publishMetadata(version);
        this.#log.info(
          { event: 'anchor_key.published', kid: next.kid, version: version.version },
          'next key published',
        );
        return { kid: next.kid, version: version.version };
      }
      const next = pending[0];
      if (next === undefined)
        throw badField('stage', 'no next key is published; run `anchor rotate --stage publish` first');
      const readyAt = next.createdAt.getTime() + this.#settings.metadataLifetimeSeconds * 1000;
      if (!options.force && now.getTime() < readyAt) {
        throw new MeshError(
          'ROLLOVER_TOO_EARLY',
          `key ${next.kid} was published at ${next.createdAt.toISOString()}; nodes may still hold metadata without it until ${new Date(readyAt).toISOString()}. Activate after that, or pass --force if the current key is compromised`,
          { details: { field: 'stage', readyAt: new Date(readyAt).toISOString() } },
        );
      }
      const previous = await keysWith(this.#stores.keys, 'federation', 'active');
      await this.#stores.keys.setStatus(next.kid, 'active', now);
      for (const old of previous) await this.#stores.keys.setStatus(old.kid, 'retired', now);
      const version = await this.#nextMetadata({});
      await this.#stores.anchor.publishMetadata(version);
      this.#log.info({ event: 'anchor_key.activated', kid: next.kid, version: version.version }, 'next key activated');
      return { kid: next.kid, version: version.version };
    });
  }

  /** Runs metadata-changing work one at a time, so each version is built on the last. */
  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #publishedAnchorKeys(): Promise<StoredKey[]> {
    return [
      ...(await keysWith(this.#stores.keys, 'federation', 'active')),
      ...(await keysWith(this.#stores.keys, 'federation', 'next')),
    ];
  }

  /** Signs version latest + 1 over the stored state plus a pending change. */
  async #nextMetadata(pending: {
    node?: Omit<AnchorMember, 'nodes'> & { node: AnchorNode };
    revocation?: Revocation;
  }): Promise<MetadataVersion> {
    const latest = await this.#stores.anchor.latestMetadata();
    const members = [...(await this.#stores.anchor.listMembers())];
    if (pending.node) {
      const { node, ...member } = pending.node;
      const at = members.findIndex((m) => m.city === member.city);
      const base = at >= 0 ? members[at]! : { ...member, nodes: [] };
      const merged = { ...base, nodes: [...base.nodes.filter((n) => n.name !== node.name), node] };
      merged.nodes.sort((a, b) => a.name.localeCompare(b.name));
      if (at >= 0) members[at] = merged;
      else members.push(merged);
      members.sort((a, b) => a.city.localeCompare(b.city));
    }
    const revocations = [
      ...(await this.#stores.anchor.listRevocations()),
      ...(pending.revocation ? [pending.revocation] : []),
    ];
    const nowSeconds = this.#clock.nowSeconds();
    const claims = buildMetadataClaims({
      identity: this.#identity,
      version: (latest?.version ?? 0) + 1,
      nowSeconds,
      parameters: this.#settings,
      members,
      revocations,
      anchorKeys: await this.#publishedAnchorKeys(),
      ...(this.#settings.gossip ? { gossip: this.#settings.gossip } : {}),
    });
    const jwt = await signClusterMetadata(claims, signingKey(await activeKey(this.#stores.keys, 'federation')));
    return {
      version: claims.version,
      jwt,
      issuedAt: new Date(claims.iat * 1000),
      expiresAt: new Date(claims.exp * 1000),
    };
  }

  async #subordinateStatement(member: AnchorMember): Promise<string> {
    const now = this.#clock.nowSeconds();
    const entityId = cityEntityId(member);
    const first = member.nodes.find((n) => n.entityId === entityId) ?? member.nodes[0]!;
    const claims: EntityStatementClaims = {
      iss: this.#identity.entityId,
      sub: entityId,
      iat: now,
      exp: now + this.#settings.metadataLifetimeSeconds,
      jwks: cityJwks(member),
      metadata: {
        [CITYMESH_NODE_ENTITY_TYPE]: {
          cluster: this.#identity.cluster,
          city: member.city,
          region_code: member.regionCode,
          trust_domain: member.trustDomain,
          grpc_endpoint: first.grpcEndpoint,
          https_endpoint: first.entityId,
          ca_certificates: memberCaCertificates(member, now),
        },
      },
      // A city is a leaf of the federation: it may not vouch for further entities.
      constraints: { max_path_length: 0 },
    };
    return signEntityStatement(claims, signingKey(await activeKey(this.#stores.keys, 'federation')));
  }

  /**
   * A gossip peer id names one identity: the anchor's, or one node's. Re-enrolling the
   * same node (city and name) may keep its own; revoked nodes keep theirs bound, so a
   * revoked key cannot come back under another name.
   */
  async #refuseBoundPeerId(node: AnchorNode): Promise<void> {
    const holder =
      this.#settings.gossip?.peerId === node.gossipPeerId
        ? 'the trust anchor'
        : (await this.#stores.anchor.listMembers())
            .flatMap((m) => m.nodes)
            .find((n) => n.gossipPeerId === node.gossipPeerId && (n.city !== node.city || n.name !== node.name))
            ?.spiffeId;
    if (holder !== undefined) {
      throw new MeshError(
        'ALREADY_EXISTS',
        `gossipPeerId: ${node.gossipPeerId} is already bound to ${holder}; every node needs its own gossip key`,
        { details: { field: 'gossipPeerId', rule: 'gossip-peer-id-unique' } },
      );
    }
  }

  /** A revoked city stays out: the anchor signs it no new CA, even with a fresh token. */
  async #refuseRevokedCity(city: string): Promise<void> {
    const revoked = (await this.#stores.anchor.listRevocations()).find((r) => r.kind === 'city' && r.id === city);
    if (revoked) {
      throw new MeshError(
        'CITY_REVOKED',
        `city ${city} was revoked in metadata version ${revoked.version}: ${revoked.reason}`,
        {
          details: { city },
        },
      );
    }
  }

  #cityOfCluster(city: string): { region: string } {
    const info = getCity(parseCityName(city));
    if (info.cluster !== this.#identity.cluster) {
      throw notMember(`city ${city} belongs to cluster ${info.cluster}, not ${this.#identity.cluster}`);
    }
    return info;
  }
}

function checkFederationJwks(keys: readonly PublicJwk[]): PublicJwk[] {
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 4) {
    throw badField('federationJwks', 'must hold 1 to 4 public keys');
  }
  return keys.map((k, i) => {
    if (hasPrivateMembers(k))
      throw badField(`federationJwks[${i}]`, 'must be a public key (it carries private members)');
    if (k.kty !== 'EC' || k.crv !== 'P-256' || typeof k.kid !== 'string' || k.kid === '') {
      throw badField(`federationJwks[${i}]`, 'must be a P-256 EC key with a kid');
    }
    return k;
  });
}

/** The node's gossip binding, both parts or neither, each in the one form metadata publishes. */
function checkGossipBinding(input: EnrolInput): Pick<AnchorNode, 'gossipPeerId' | 'gossipAddress'> {
  const { gossipPeerId, gossipAddress } = input;
  if (gossipPeerId === undefined && gossipAddress === undefined) return {};
  if (gossipPeerId === undefined) throw badField('gossipPeerId', 'is required with gossipAddress (both or neither)');
  if (gossipAddress === undefined) throw badField('gossipAddress', 'is required with gossipPeerId (both or neither)');
  const peerProblem = gossipPeerIdProblem(gossipPeerId);
  if (peerProblem !== undefined) throw badField('gossipPeerId', peerProblem);
  const addressProblem = gossipAddressProblem(gossipAddress);
  if (addressProblem !== undefined) throw badField('gossipAddress', addressProblem);
  return { gossipPeerId, gossipAddress };
}

/** The anchor's own binding comes from its configuration: a bad one is a configuration error. */
function checkAnchorGossip(gossip: AnchorGossipBinding | undefined): void {
  if (gossip === undefined) return;
  for (const [field, problem] of [
    ['gossip.peerId', gossipPeerIdProblem(gossip.peerId)],
    ['gossip.address', gossipAddressProblem(gossip.address)],
  ] as const) {
    if (problem !== undefined) {
      throw new MeshError('INVALID_CONFIG', `the anchor's ${field} ${problem}`, { details: { field } });
    }
  }
}

function badField(field: string, rule: string): MeshError {
  return new MeshError('MALFORMED_REQUEST', `${field}: ${rule}`, { details: { field, rule } });
}

function notMember(message: string): MeshError {
  return new MeshError('MEMBER_NOT_FOUND', message, {});
}

/** The SPIFFE id a presented leaf claims; verification decides whether to believe it. */
function spiffeOfLeaf(pem: string): { spiffeId: string; city: string } {
  let uris: string[];
  try {
    uris = (new X509Certificate(pem).subjectAltName ?? '')
      .split(', ')
      .filter((s) => s.startsWith('URI:'))
      .map((s) => s.slice(4));
  } catch (cause) {
    throw new MeshError('CERTIFICATE_INVALID', 'the client certificate does not parse', { cause });
  }
  const parsed = uris.length === 1 ? parseSpiffeId(uris[0]) : undefined;
  if (parsed === undefined || parsed.kind !== 'node') {
    throw new MeshError('CERTIFICATE_SPIFFE_ID_INVALID', 'the client certificate must carry one node SPIFFE ID', {});
  }
  return { spiffeId: parsed.uri, city: parsed.city };
}

/** The leaf must chain to the root through this very node's CA (current, or previous after a renewal). */
function verifyLeafThroughNodeCa(
  leafPem: string,
  node: AnchorNode,
  rootPem: string,
  now: Date,
  revokedSerials: readonly string[],
): void {
  const cas = [node.caCertificatePem, ...(node.previousCaCertificatePem ? [node.previousCaCertificatePem] : [])];
  let last: unknown;
  for (const ca of cas) {
    try {
      verifyCertificatePath({
        leafPem,
        chainPems: [ca],
        rootPems: [rootPem],
        now,
        revokedSerials,
        expected: { spiffeId: node.spiffeId },
      });
      return;
    } catch (err) {
      last = err;
    }
  }
  throw last;
}
