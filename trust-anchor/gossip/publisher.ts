import type { PrivateKey } from '@libp2p/interface';
import { decodeJwt } from 'jose';
import { type AllowedPeers, allowedPeersOf, GossipMesh, metadataTopicsFor } from '../../common/gossip/index.js';
import type { Logger } from '../../common/logger.js';
import type { MetadataVersion } from '../../common/stores/index.js';
import type { ClusterMetadataClaims } from '../federation/index.js';

export interface AnchorPublisherInit {
  readonly privateKey: PrivateKey;
  /** Multiaddr to listen on (`/ip4/127.0.0.1/tcp/7002`). */
  readonly listen: string;
  readonly cluster: string;
  /** The newest signed metadata version: read from the store, which other processes (`anchor revoke`) write too. */
  readonly latest: () => Promise<MetadataVersion | undefined>;
  readonly log: Logger;
  /**
   * How often the store is checked for a newer version; default 100 ms. Each check is one
   * indexed read, and its interval is the wait a new version may have before it is
   * published (half of it on average), the largest fixed part of a revocation's reach.
   */
  readonly pollMs?: number;
  readonly redialMs?: number;
}

/**
 * The anchor's side of gossip: it dials every node the current metadata lists with a
 * gossip peer id and publishes each new metadata version, on the revocations topic as
 * well when the version revokes something. It subscribes to nothing: what nodes publish
 * is theirs to validate, and the anchor's store is its own truth.
 */
export class AnchorPublisher {
  readonly mesh: GossipMesh;
  readonly #init: AnchorPublisherInit;
  #published: number | undefined;
  #peers: { version: number; peers: AllowedPeers } = { version: -1, peers: new Map() };
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<number | undefined> | undefined;

  private constructor(mesh: GossipMesh, init: AnchorPublisherInit) {
    this.mesh = mesh;
    this.#init = init;
  }

  static async start(init: AnchorPublisherInit): Promise<AnchorPublisher> {
    let publisher: AnchorPublisher | undefined;
    const mesh = await GossipMesh.start({
      privateKey: init.privateKey,
      listen: init.listen,
      allowedPeers: () => publisher?.allowedPeers() ?? new Map(),
      log: init.log,
      ...(init.redialMs === undefined ? {} : { redialMs: init.redialMs }),
    });
    publisher = new AnchorPublisher(mesh, init);
    try {
      await publisher.poll();
    } catch (err) {
      await mesh.stop();
      throw err;
    }
    const tick = () => {
      publisher.#timer = setTimeout(() => {
        publisher
          .poll()
          .catch((err: unknown) =>
            init.log.error({ event: 'gossip.publish_failed', err: String(err) }, 'metadata publication failed'),
          )
          .finally(() => publisher.#timer !== undefined && tick());
      }, init.pollMs ?? 100);
      publisher.#timer.unref();
    };
    tick();
    return publisher;
  }

  get peerId(): string {
    return this.mesh.peerId;
  }

  /** The nodes the newest version lists with a gossip peer id, unless revoked. */
  allowedPeers(): AllowedPeers {
    return this.#peers.peers;
  }

  /**
   * Publishes the newest version if it is newer than the last one published (after a
   * start, the current version, once some node subscribes). Resolves to the version
   * published, if any.
   */
  poll(): Promise<number | undefined> {
    this.#polling ??= this.#poll().finally(() => {
      this.#polling = undefined;
    });
    return this.#polling;
  }

  async #poll(): Promise<number | undefined> {
    const latest = await this.#init.latest();
    if (latest === undefined || (this.#published !== undefined && latest.version <= this.#published)) return;
    const claims = decodeJwt(latest.jwt) as unknown as ClusterMetadataClaims;
    if (claims.version !== this.#peers.version) {
      this.#peers = { version: claims.version, peers: allowedPeersOf(claims) };
      this.mesh.peersChanged();
    }
    const since = this.#published ?? latest.version - 1;
    const data = new TextEncoder().encode(latest.jwt);
    let recipients = 0;
    for (const topic of metadataTopicsFor(this.#init.cluster, claims, since)) {
      recipients = Math.max(recipients, await this.mesh.publish(topic, data));
    }
    // Nobody subscribed yet (the anchor just started): the next poll tries again.
    if (recipients === 0) return;
    this.#published = latest.version;
    this.#init.log.info(
      { event: 'gossip.metadata_published', version: latest.version, recipients },
      'metadata version published on gossip',
    );
    return latest.version;
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#polling?.catch(() => undefined);
    await this.mesh.stop();
  }
}
