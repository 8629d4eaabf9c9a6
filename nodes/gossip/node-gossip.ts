import { existsSync } from 'node:fs';
import { decodeJwt } from 'jose';
import type { Clock } from '../../common/clock.js';
import {
  type AllowedPeers,
  allowedPeersOf,
  clusterTopics,
  GossipMesh,
  gossipEntryOf,
  metadataTopicsFor,
  readGossipKey,
} from '../../common/gossip/index.js';
import type { Logger } from '../../common/logger.js';
import type { Stores } from '../../common/stores/index.js';
import { type ClusterMetadataClaims, keysWith } from '../../trust-anchor/index.js';
import type { NodeIdentity } from '../trust/identity.js';
import { nodePath, readNodeFile } from '../trust/node-files.js';
import type { TrustState } from '../trust/trust-state.js';
import { CatalogBoard } from './catalog-board.js';
import { CATALOG_NOTICE_LIFETIME_SECONDS, MAX_NOTICE_CHANGES, signCatalogNotice } from './catalog-notice.js';
import { CatalogWatch } from './catalog-watch.js';
import { metadataValidator } from './metadata-topic.js';

export interface NodeGossipOptions {
  readonly dir: string;
  readonly identity: NodeIdentity;
  readonly trust: TrustState;
  readonly stores: Pick<Stores, 'catalog' | 'keys'>;
  /** The SQLite file behind `stores` (changes are noticed by its size and time); none: read every poll. */
  readonly storeFile?: string;
  /** The pinned cluster root (PEM). */
  readonly rootPem: string;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * Runs as soon as gossip delivered a newer metadata version and the node holds it, before
   * relaying it, so what the node reports never lags what it holds: keep it to bookkeeping.
   * Writing the version to disk may still be under way.
   */
  readonly onMetadata: (version: number) => void;
  /** Listen here instead of the node's `gossip_address` in metadata (tests: port 0). */
  readonly listen?: string;
  /** How often the catalog is checked for changes to announce; default 1 s. */
  readonly catalogPollMs?: number;
  readonly redialMs?: number;
}

/** A node's running gossip. */
export interface NodeGossip {
  readonly peerId: string;
  readonly mesh: GossipMesh;
  /** Other nodes' catalog changes, as announced to this node. */
  readonly board: CatalogBoard;
  /** Publishes a metadata version this node pulled (and the revocations topic when it revokes since `sinceVersion`). */
  publishMetadata(jwt: string, sinceVersion: number): Promise<void>;
  /** The node's metadata changed: follow the peers it admits. */
  metadataChanged(): void;
  /** Announces catalog changes not yet announced now (the poll does it every second); returns notices sent. */
  announceCatalog(): Promise<number>;
  stats(): { peerId: string; connectedPeers: number; catalogNotices: number };
  stop(): Promise<void>;
}

/** Gossip runs, or why it does not. */
export type GossipStart =
  | { readonly on: true; readonly gossip: NodeGossip }
  | { readonly on: false; readonly reason: string };

/**
 * Starts the node's gossip when its folder holds a gossip key and the current metadata
 * binds that key's peer id to this node; otherwise says why not (the node then relies on
 * pulls alone). Peers are the ones metadata admits now; metadata from gossip is kept only
 * through `TrustState.admit`, verified exactly as a pulled document.
 */
export async function startNodeGossip(o: NodeGossipOptions): Promise<GossipStart> {
  const keyFile = nodePath(o.dir, 'gossipKey');
  if (!existsSync(keyFile)) return { on: false, reason: `no gossip key at ${keyFile}: the node joined without gossip` };
  const key = readGossipKey(keyFile);
  let metadata: ClusterMetadataClaims;
  try {
    metadata = o.trust.metadata;
  } catch (err) {
    return { on: false, reason: `no current cluster metadata (${(err as Error).message})` };
  }
  const entry = gossipEntryOf(metadata, o.identity.spiffeId);
  if (entry === undefined) return { on: false, reason: `metadata lists no gossip peer id for ${o.identity.spiffeId}` };
  if (entry.peerId !== key.peerId) {
    return { on: false, reason: `metadata binds ${entry.peerId} to this node, but its gossip key is ${key.peerId}` };
  }

  // An expired budget keeps the last admitted peers: gossip may bring the metadata that renews it.
  let admitted: { from: ClusterMetadataClaims; peers: AllowedPeers } = {
    from: metadata,
    peers: allowedPeersOf(metadata),
  };
  const allowedPeers = () => {
    try {
      const current = o.trust.metadata;
      if (current !== admitted.from) admitted = { from: current, peers: allowedPeersOf(current) };
    } catch {}
    return admitted.peers;
  };
  const topics = clusterTopics(o.identity.cluster);
  const board = new CatalogBoard();
  let mesh: GossipMesh | undefined;
  // The verdict comes once the document is verified and current in memory: it is relayed
  // without waiting for the disk (a failed write is the node's own problem, retried), and
  // hanging up revoked peers or dialling new ones waits until it has been relayed.
  const metadataTopic = metadataValidator(
    async (jwt) => {
      const admitted = await o.trust.admit(jwt);
      if (admitted.changed) {
        admitted.persisted.catch((err: unknown) =>
          o.log.error(
            { event: 'metadata.persist_failed', version: admitted.version, err: String(err) },
            'metadata held but not written to disk; retrying',
          ),
        );
        try {
          o.onMetadata(admitted.version);
        } catch (err) {
          o.log.error({ event: 'gossip.on_metadata_failed', err: String(err) }, 'acting on gossiped metadata failed');
        }
      }
      return admitted;
    },
    () => mesh?.peersChanged(),
  );
  const listen = o.listen ?? entry.address;
  mesh = await GossipMesh.start({
    privateKey: key.privateKey,
    ...(listen === undefined ? {} : { listen }),
    allowedPeers,
    topics: {
      [topics.metadata]: metadataTopic,
      [topics.revocations]: metadataTopic,
      [topics.catalog]: board.validator(() => ({ metadata: o.trust.metadata, rootPem: o.rootPem, now: o.clock.now() })),
    },
    log: o.log,
    ...(o.redialMs === undefined ? {} : { redialMs: o.redialMs }),
  });
  const started = mesh;
  const watch = new CatalogWatch(o.dir, o.storeFile, o.stores.catalog, o.identity.city);
  const announceCatalog = async (): Promise<number> => {
    const changes = await watch.pending();
    if (changes.length === 0) return 0;
    const signer = await noticeSigner(o.dir, o.stores);
    let reached = 0;
    let sent = 0;
    for (let at = 0; at < changes.length; at += MAX_NOTICE_CHANGES) {
      const iat = o.clock.nowSeconds();
      const claims = {
        iss: o.identity.spiffeId,
        cluster: o.identity.cluster,
        city: o.identity.city,
        seq: watch.nextSeq(o.clock.nowMs()),
        iat,
        exp: iat + CATALOG_NOTICE_LIFETIME_SECONDS,
        changes: changes.slice(at, at + MAX_NOTICE_CHANGES),
      };
      const jws = await signCatalogNotice(claims, signer);
      reached = Math.max(reached, await started.publish(topics.catalog, new TextEncoder().encode(jws)));
      sent++;
    }
    // Nobody heard it (no peer yet): announce again at the next poll.
    if (reached === 0) return 0;
    watch.commit();
    o.log.info({ event: 'catalog.announced', changes: changes.length, notices: sent }, 'catalog changes announced');
    return sent;
  };
  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    announceCatalog()
      .catch((err: unknown) => o.log.error({ event: 'catalog.announce_failed', err: String(err) }, 'announce failed'))
      .finally(() => {
        polling = false;
      });
  }, o.catalogPollMs ?? 1000);
  timer.unref();

  const gossip: NodeGossip = {
    peerId: key.peerId,
    mesh: started,
    board,
    async publishMetadata(jwt, sinceVersion) {
      const claims = decodeJwt(jwt) as unknown as ClusterMetadataClaims;
      for (const topic of metadataTopicsFor(o.identity.cluster, claims, sinceVersion)) {
        await started.publish(topic, new TextEncoder().encode(jwt));
      }
    },
    metadataChanged: () => started.peersChanged(),
    announceCatalog,
    stats: () => ({
      peerId: key.peerId,
      connectedPeers: started.connectedPeers().length,
      catalogNotices: board.accepted,
    }),
    async stop() {
      clearInterval(timer);
      await started.stop();
    },
  };
  return { on: true, gossip };
}

/** The node's current SVID key and chain (read per announcement, so renewals are followed). */
async function noticeSigner(dir: string, stores: Pick<Stores, 'keys'>) {
  const key = (await keysWith(stores.keys, 'tls', 'active')).at(-1);
  const pems = readNodeFile(dir, 'nodeCert').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (key?.privateKeyPem === undefined || pems?.length !== 2) {
    throw new Error(`${dir} has no active SVID key with its leaf and city CA`);
  }
  return { privateKeyPem: key.privateKeyPem, chainPems: [`${pems[0]}\n`, `${pems[1]}\n`] as [string, string] };
}

/**
 * {@link startNodeGossip} for a serving node: logs once why gossip is off, and when it
 * cannot start (a port in use), so the node still serves on pulls alone.
 */
export async function startGossipIfBound(o: NodeGossipOptions): Promise<NodeGossip | undefined> {
  try {
    const started = await startNodeGossip(o);
    if (started.on) return started.gossip;
    o.log.info({ event: 'gossip.off', reason: started.reason }, 'gossip is off; metadata comes by pull only');
  } catch (err) {
    o.log.error({ event: 'gossip.failed', err: String(err) }, 'gossip could not start; metadata comes by pull only');
  }
  return undefined;
}
