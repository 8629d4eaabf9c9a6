import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import { gossipAddressOf, splitHostPort } from '../../common/gossip/binding.js';
import { loadOrCreateGossipKey } from '../../common/gossip/key.js';
import { formatTrustDomain } from '../../common/ids/index.js';
import { type Logger, silentLogger } from '../../common/logger.js';
import { EnrolResponse } from '../../proto/gen/citymesh/v1/trust_service.js';
import { openSqliteStores } from '../../stores/index.js';
import {
  checkCityCa,
  createCsr,
  createKey,
  type JwkSet,
  parseJoinToken,
  publishedJwk,
  rootPinOf,
  verifyClusterMetadata,
  verifyEntityStatement,
} from '../../trust-anchor/index.js';
import { anchorFailure, anchorRequest } from './anchor-client.js';
import type { NodeIdentity } from './identity.js';
import { entityIdDnsNames, issueNodeCertificate } from './node-certificate.js';
import { nodePath, writeFileAtomic } from './node-files.js';
import { checkStatementAboutUs } from './statement-check.js';

/** Options of {@link joinCluster}. */
export interface JoinInit {
  /** The node's folder; created if absent. */
  readonly dir: string;
  /** The anchor's https URL. */
  readonly anchorUrl: string;
  /** The one-time join token from `citymesh anchor invite`. */
  readonly token: string;
  readonly nodeName: string;
  /** The city's federation entity id (https URL shared by the city's nodes). */
  readonly entityId: string;
  /** `host:port` peers dial for this node's gRPC service. */
  readonly grpcEndpoint: string;
  /**
   * The node's gossip: the TCP port it listens on (default: the gRPC endpoint's port + 2,
   * on the endpoint's host), or `false` to join without gossip. Default: gossip.
   */
  readonly gossip?: false | { readonly port?: number };
  readonly clock: Clock;
  readonly logger?: Logger;
}

/**
 * Joins the cluster: pins the anchor by the token's root fingerprint (no trust on first
 * use), generates the node's keys locally, enrols, verifies everything the anchor
 * returns, issues the node's own X.509-SVID from its new city CA, and stores it all.
 */
export async function joinCluster(init: JoinInit): Promise<NodeIdentity> {
  const log = init.logger ?? silentLogger;
  const token = parseJoinToken(init.token);
  const rootPem = await fetchPinnedRoot(init.anchorUrl, token.rootPin);
  mkdirSync(init.dir, { recursive: true });
  const gossip = await gossipBinding(init);
  const stores = openSqliteStores(nodePath(init.dir, 'store'));
  try {
    const now = init.clock.now();
    const ca = await createKey(stores.keys, { purpose: 'ca', status: 'next', now });
    const federation = await createKey(stores.keys, { purpose: 'federation', status: 'active', now });
    const caCsrPem = await createCsr({ keys: ca.pair, subjectCn: `citymesh ${token.city} city CA` });
    const federationJwks = { keys: [publishedJwk(federation.stored)] };
    const res = await anchorRequest(init.anchorUrl, '/enrol', {
      rootPem,
      method: 'POST',
      json: {
        joinToken: init.token,
        city: token.city,
        nodeName: init.nodeName,
        caCsrPem,
        entityId: init.entityId,
        federationJwks: JSON.stringify(federationJwks),
        endpoint: init.grpcEndpoint,
        ...gossip,
      },
    });
    if (res.status !== 200) throw anchorFailure(res.status, res.body);
    const enrolled = EnrolResponse.fromJSON(JSON.parse(res.body));

    // Verify what came back before keeping any of it.
    if (enrolled.trustBundlePem.trim() !== rootPem.trim()) {
      throw new MeshError('TRUST_CHAIN_INVALID', 'the anchor returned a trust bundle other than the pinned root', {});
    }
    const anchorKeys = JSON.parse(enrolled.anchorJwks) as JwkSet;
    const nowSeconds = init.clock.nowSeconds();
    const metadata = await verifyClusterMetadata(enrolled.clusterMetadata, {
      anchorKeys,
      now: nowSeconds,
      expectedCluster: enrolled.cluster,
      expectedIssuer: enrolled.anchorEntityId,
    });
    const statement = await verifyEntityStatement(enrolled.subordinateStatement, {
      keys: anchorKeys,
      now: nowSeconds,
      expectedIss: enrolled.anchorEntityId,
      expectedSub: init.entityId,
    });
    checkStatementAboutUs(statement.claims, {
      federationKid: federation.stored.kid,
      cluster: enrolled.cluster,
      city: token.city,
    });
    checkCityCa({
      caPem: enrolled.cityCaPem,
      rootPem,
      publicKeyX: String(ca.stored.publicJwk.x),
      trustDomain: formatTrustDomain(enrolled.cluster, token.city),
      now,
    });
    // The CA key becomes active only once the anchor has certified it.
    await stores.keys.setStatus(ca.stored.kid, 'active', now);
    const identity: NodeIdentity = {
      cluster: enrolled.cluster,
      city: token.city,
      nodeName: init.nodeName,
      spiffeId: enrolled.nodeId,
      entityId: init.entityId,
      grpcEndpoint: init.grpcEndpoint,
      anchorUrl: init.anchorUrl,
      anchorEntityId: enrolled.anchorEntityId,
      joinedAt: now.toISOString(),
    };
    writeFileAtomic(nodePath(init.dir, 'bundle'), rootPem);
    writeFileAtomic(nodePath(init.dir, 'cityCa'), enrolled.cityCaPem);
    writeFileAtomic(nodePath(init.dir, 'statement'), enrolled.subordinateStatement);
    writeFileAtomic(nodePath(init.dir, 'metadata'), enrolled.clusterMetadata);
    writeFileAtomic(nodePath(init.dir, 'pins'), JSON.stringify(anchorKeys, null, 2));
    writeFileAtomic(nodePath(init.dir, 'identity'), JSON.stringify(identity, null, 2));
    await issueNodeCertificate({
      dir: init.dir,
      keys: stores.keys,
      cityCa: { key: ca, certificatePem: enrolled.cityCaPem },
      spiffeId: identity.spiffeId,
      lifetimeHours: metadata.metadata.parameters.certificate_lifetime_hours,
      now,
      dnsNames: entityIdDnsNames(init.entityId),
    });
    log.info({ event: 'node.joined', node: identity.spiffeId, version: metadata.version }, 'joined the cluster');
    return identity;
  } finally {
    await stores.close();
  }
}

/**
 * The node's gossip key (kept across re-joins, so its peer id stays put) and the binding
 * the anchor is asked to publish for it: `gossipPeerId` and `gossipAddress`, or nothing.
 */
async function gossipBinding(init: JoinInit): Promise<{ gossipPeerId?: string; gossipAddress?: string }> {
  if (init.gossip === false) return {};
  const endpoint = splitHostPort(init.grpcEndpoint);
  if (endpoint === undefined) {
    throw new MeshError('MALFORMED_REQUEST', `endpoint: must be host:port, got "${init.grpcEndpoint}"`, {
      details: { field: 'endpoint' },
    });
  }
  const port = init.gossip?.port;
  const address = gossipAddressOf(
    endpoint.host,
    port ?? endpoint.port + 2,
    port === undefined ? 'endpoint' : 'gossip-port',
  );
  const keyFile = nodePath(init.dir, 'gossipKey');
  mkdirSync(dirname(keyFile), { recursive: true });
  const { peerId } = await loadOrCreateGossipKey(keyFile);
  return { gossipPeerId: peerId, gossipAddress: address };
}

/**
 * Fetches the anchor's root over unauthenticated TLS and accepts it only when its key
 * matches the token's pin, as kubeadm's discovery hash does.
 */
async function fetchPinnedRoot(anchorUrl: string, pin: string): Promise<string> {
  const res = await anchorRequest(anchorUrl, '/ca');
  if (res.status !== 200) throw anchorFailure(res.status, res.body);
  let actual: string;
  try {
    actual = rootPinOf(res.body);
  } catch (cause) {
    throw new MeshError('TRUST_CHAIN_INVALID', `${anchorUrl}/ca did not return a certificate`, { cause });
  }
  if (actual !== pin) {
    throw new MeshError(
      'TRUST_CHAIN_INVALID',
      `the anchor at ${anchorUrl} presents a root whose key does not match the join token's pin; refusing to enrol`,
      { details: { field: 'anchor', rule: 'root-pin' } },
    );
  }
  return res.body;
}
