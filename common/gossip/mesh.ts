import './polyfill.js';
import { createHash } from 'node:crypto';
import type { GossipsubMessage, TopicValidatorResult } from '@libp2p/gossipsub';
import type { Libp2p, PrivateKey } from '@libp2p/interface';
import type { Logger } from '../logger.js';
import { type AllowedPeers, allowListGater, PeerKeeper } from './peer-keeper.js';

export type { AllowedPeers } from './peer-keeper.js';

/**
 * What a topic's validator decides about one message (gossipsub's ACCEPT / IGNORE / REJECT).
 * An accepted message may bring `afterRelay`: work that uses it, run once the message has
 * been handed on to the mesh (on a later turn of the event loop), so relaying never waits
 * for it.
 */
export type Verdict =
  | { readonly result: 'accept'; readonly afterRelay?: () => void }
  | { readonly result: 'ignore' | 'reject'; readonly reason: string };

/** Validates (and, on accept, uses) one message; `origin` is the publishing peer id. */
export type TopicValidator = (data: Uint8Array, origin: string) => Promise<Verdict>;

export interface GossipMeshOptions {
  readonly privateKey: PrivateKey;
  /** Multiaddr to listen on (`/ip4/127.0.0.1/tcp/7112`); none: dial out only. */
  readonly listen?: string;
  /** Read on every connection attempt and reconciliation: the peers admitted now. */
  readonly allowedPeers: () => AllowedPeers;
  /** Topics to subscribe to, each with its validator; publishing needs no subscription. */
  readonly topics?: Readonly<Record<string, TopicValidator>>;
  readonly log: Logger;
  /** How often missing peers are dialled again; default 5 s (jittered). */
  readonly redialMs?: number;
}

export interface TopicCounts {
  accepted: number;
  ignored: number;
  rejected: number;
}

export interface GossipStats {
  readonly peerId: string;
  readonly connectedPeers: number;
  readonly topics: Readonly<Record<string, Readonly<TopicCounts>>>;
}

/** The parts of gossipsub used here that its published interface leaves out (present at run time). */
interface GossipRouter {
  subscribe(topic: string): void;
  publish(topic: string, data: Uint8Array): Promise<{ recipients: unknown[] }>;
  addEventListener(type: 'gossipsub:message', listener: (event: CustomEvent<GossipsubMessage>) => void): void;
  reportMessageValidationResult(msgId: string, propagationSource: string, result: TopicValidatorResult): void;
  getMeshPeers(topic: string): string[];
  getSubscribers(topic: string): { toString(): string }[];
}

/**
 * The libp2p stack, loaded on first use: importing it costs a second or more of start-up,
 * which every `citymesh` command would otherwise pay, gossiping or not.
 */
async function loadLibp2p() {
  const [libp2p, tcp, noise, yamux, identify, gossipsub, multiaddr] = await Promise.all([
    import('libp2p'),
    import('@libp2p/tcp'),
    import('@chainsafe/libp2p-noise'),
    import('@chainsafe/libp2p-yamux'),
    import('@libp2p/identify'),
    import('@libp2p/gossipsub'),
    import('@multiformats/multiaddr'),
  ]);
  return { ...libp2p, ...tcp, ...noise, ...yamux, ...identify, ...gossipsub, ...multiaddr };
}

/**
 * A libp2p host on a closed mesh: TCP, noise, yamux, identify and gossipsub, connected to
 * exactly the peers `allowedPeers` names. Messages are signed by their origin (StrictSign)
 * and forwarded only once the topic's validator accepts them; their id is a hash of topic
 * and content, so the same document published by several peers travels once.
 */
export class GossipMesh {
  readonly #node: Libp2p;
  readonly #router: GossipRouter;
  readonly #keeper: PeerKeeper;
  readonly #allowed: () => AllowedPeers;
  readonly #topics: Readonly<Record<string, TopicValidator>>;
  readonly #counts = new Map<string, TopicCounts>();
  readonly #log: Logger;
  readonly #results: Readonly<Record<Verdict['result'], TopicValidatorResult>>;

  private constructor(node: Libp2p, options: GossipMeshOptions, lib: Awaited<ReturnType<typeof loadLibp2p>>) {
    this.#node = node;
    this.#results = {
      accept: lib.TopicValidatorResult.Accept,
      ignore: lib.TopicValidatorResult.Ignore,
      reject: lib.TopicValidatorResult.Reject,
    };
    this.#router = (node.services as { pubsub: unknown }).pubsub as GossipRouter;
    this.#allowed = options.allowedPeers;
    this.#topics = options.topics ?? {};
    this.#log = options.log;
    this.#keeper = new PeerKeeper(node, options.allowedPeers, lib.multiaddr, options.log);
  }

  static async start(options: GossipMeshOptions): Promise<GossipMesh> {
    const lib = await loadLibp2p();
    const { tcp, noise, yamux, identify, gossipsub } = lib;
    const node = await lib.createLibp2p({
      privateKey: options.privateKey,
      addresses: { listen: options.listen === undefined ? [] : [options.listen] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: allowListGater((peer) => options.allowedPeers().has(peer)),
      // Every peer of a loopback cluster shares one address: the default of 5 inbound
      // connections per second per host would throttle a cluster starting up.
      connectionManager: { inboundConnectionThreshold: 100, maxIncomingPendingConnections: 64 },
      services: {
        identify: identify(),
        pubsub: gossipsub({
          globalSignaturePolicy: lib.StrictSign,
          asyncValidation: true,
          // Publishing to nobody fails inside gossipsub before the message counts as seen,
          // which lets a publisher try the same bytes again once peers are there.
          allowPublishToZeroTopicPeers: false,
          ignoreDuplicatePublishError: true,
          emitSelf: false,
          floodPublish: true,
          fallbackToFloodsub: false,
          // Small, fully connected clusters: a wide mesh and a fast heartbeat, so a message
          // is one or two hops from everyone; the message cache outlives slow validations.
          D: 8,
          Dlo: 6,
          Dhi: 16,
          Dout: 3,
          heartbeatInterval: 500,
          mcacheLength: 10,
          mcacheGossip: 4,
          msgIdFn: (msg) => messageId(msg.topic, msg.data),
          // No IP colocation penalty (P6). By default each of more than 10 peers on one IP
          // address scores -5 × (count - 10)²: from 14 peers on one address (a loopback
          // cluster of 14 cities; nodes behind one NAT) nothing is published to them (score
          // below -50), from 15 all they send is dropped (graylisted below -80). It guards open
          // meshes against Sybils; this one admits only peer ids the signed metadata binds.
          scoreParams: { IPColocationFactorWeight: 0 },
        }),
      },
    });
    const mesh = new GossipMesh(node, options, lib);
    mesh.#listen();
    for (const topic of Object.keys(mesh.#topics)) mesh.#router.subscribe(topic);
    mesh.#keeper.start(options.redialMs ?? 5_000);
    options.log.info(
      { event: 'gossip.started', peerId: mesh.peerId, listen: mesh.addresses, topics: Object.keys(mesh.#topics) },
      'gossip started',
    );
    return mesh;
  }

  get peerId(): string {
    return this.#node.peerId.toString();
  }

  /** The multiaddrs the host listens on (with the actual port when 0 was asked for), without `/p2p`. */
  get addresses(): string[] {
    return this.#node.getMultiaddrs().map((a) => a.toString().replace(/\/p2p\/[^/]+$/, ''));
  }

  /** Peer ids connected now. */
  connectedPeers(): string[] {
    return this.#node.getPeers().map(String);
  }

  /** Peers in our mesh for `topic` (gossipsub's view). */
  meshPeers(topic: string): string[] {
    return this.#router.getMeshPeers(topic);
  }

  /** Connected peers subscribed to `topic`: who a publication reaches directly. */
  subscribers(topic: string): string[] {
    return this.#router.getSubscribers(topic).map(String);
  }

  /**
   * Publishes `data`; resolves to how many peers it was sent to directly: 0 when no peer
   * subscribes to the topic yet (nothing is sent, so the same bytes can be published again
   * once peers come) or for bytes already published or received.
   */
  async publish(topic: string, data: Uint8Array): Promise<number> {
    try {
      return (await this.#router.publish(topic, data)).recipients.length;
    } catch (err) {
      if ((err as Error).message === 'PublishError.NoPeersSubscribedToTopic') return 0;
      throw err;
    }
  }

  /** The allowed set changed: hang up peers it dropped, dial the ones it added. */
  peersChanged(): void {
    this.#keeper.reconcile('above');
  }

  stats(): GossipStats {
    return {
      peerId: this.peerId,
      connectedPeers: this.#node.getPeers().length,
      topics: Object.fromEntries([...this.#counts].map(([topic, c]) => [topic, { ...c }])),
    };
  }

  async stop(): Promise<void> {
    this.#keeper.stop();
    await this.#node.stop();
  }

  #listen(): void {
    this.#node.addEventListener('peer:connect', (e) =>
      this.#log.info({ event: 'gossip.peer_connected', peer: e.detail.toString() }, 'gossip peer connected'),
    );
    this.#node.addEventListener('peer:disconnect', (e) =>
      this.#log.info({ event: 'gossip.peer_disconnected', peer: e.detail.toString() }, 'gossip peer disconnected'),
    );
    this.#router.addEventListener('gossipsub:message', (e) => void this.#validate(e.detail));
  }

  async #validate({ msg, msgId, propagationSource }: GossipsubMessage): Promise<void> {
    const source = propagationSource.toString();
    const origin = msg.type === 'signed' ? msg.from.toString() : undefined;
    let verdict: Verdict;
    const validator = this.#topics[msg.topic];
    if (validator === undefined) verdict = { result: 'ignore', reason: 'no validator for this topic' };
    else if (origin === undefined) verdict = { result: 'reject', reason: 'unsigned message' };
    else if (!this.#allowed().has(origin))
      verdict = { result: 'ignore', reason: `origin ${origin} is not a peer of this cluster now` };
    else {
      try {
        verdict = await validator(msg.data, origin);
      } catch (err) {
        // A validator that breaks says nothing about the sender: drop, never penalize.
        this.#log.error({ event: 'gossip.validator_failed', topic: msg.topic, err: String(err) }, 'validator failed');
        verdict = { result: 'ignore', reason: 'validator failed' };
      }
    }
    this.#router.reportMessageValidationResult(msgId, source, this.#results[verdict.result]);
    if (verdict.result === 'accept' && verdict.afterRelay !== undefined)
      this.#afterRelay(msg.topic, verdict.afterRelay);
    const counts = this.#counts.get(msg.topic) ?? { accepted: 0, ignored: 0, rejected: 0 };
    this.#counts.set(msg.topic, counts);
    if (verdict.result === 'accept') counts.accepted++;
    else if (verdict.result === 'ignore') {
      counts.ignored++;
      this.#log.debug({ event: 'gossip.message_ignored', topic: msg.topic, origin, source, reason: verdict.reason });
    } else {
      counts.rejected++;
      this.#log.warn(
        { event: 'gossip.message_rejected', topic: msg.topic, origin, source, reason: verdict.reason },
        'gossip message rejected',
      );
    }
  }

  /**
   * Runs `work` on a later turn of the event loop: after the microtasks that carry what
   * gossipsub just queued (the relayed message) through the streams to the sockets.
   */
  #afterRelay(topic: string, work: () => void): void {
    setImmediate(() => {
      try {
        work();
      } catch (err) {
        this.#log.error({ event: 'gossip.after_relay_failed', topic, err: String(err) }, 'work after relaying failed');
      }
    });
  }
}

/** Content-addressed message id: the same bytes on the same topic are one message, whoever publishes them. */
function messageId(topic: string, data: Uint8Array): Uint8Array {
  return createHash('sha256').update(topic).update('\0').update(data).digest();
}
