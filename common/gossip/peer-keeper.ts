import type { ConnectionGater, Libp2p, PeerId } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { Logger } from '../logger.js';

/** Peers admitted to the mesh right now: base58 peer id → multiaddr to dial (absent: wait to be dialled). */
export type AllowedPeers = ReadonlyMap<string, string | undefined>;

/** How long one dial may take before it is given up until the next round. */
const DIAL_TIMEOUT_MS = 5_000;

/**
 * The gater of a closed mesh: only peer ids the current allowed set names may connect,
 * in either direction. It runs after the noise handshake, so the peer id is proven.
 */
export function allowListGater(isAllowed: (peerId: string) => boolean): ConnectionGater {
  const deny = (peer: PeerId) => !isAllowed(peer.toString());
  return {
    denyDialPeer: deny,
    denyInboundEncryptedConnection: deny,
    denyOutboundEncryptedConnection: deny,
    denyInboundUpgradedConnection: deny,
    denyOutboundUpgradedConnection: deny,
  };
}

/**
 * Keeps the host connected to every allowed peer and to nothing else. At start, and in
 * the periodic round, every missing peer is dialled; after a change of the allowed set
 * only peers whose id sorts above ours are, so two peers learning of each other at once
 * usually end up with one connection, not two.
 */
export class PeerKeeper {
  readonly #node: Libp2p;
  readonly #allowed: () => AllowedPeers;
  readonly #log: Logger;
  readonly #multiaddr: (text: string) => Multiaddr;
  readonly #dialing = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(node: Libp2p, allowed: () => AllowedPeers, multiaddr: (text: string) => Multiaddr, log: Logger) {
    this.#node = node;
    this.#allowed = allowed;
    this.#multiaddr = multiaddr;
    this.#log = log;
  }

  /** Starts the periodic round, every `intervalMs` with ±20 % jitter so peers do not dial in lockstep. */
  start(intervalMs: number): void {
    const next = () => {
      if (this.#stopped) return;
      this.#timer = setTimeout(
        () => {
          this.reconcile('all');
          next();
        },
        intervalMs * (0.8 + Math.random() * 0.4),
      );
      this.#timer.unref();
    };
    this.reconcile('all');
    next();
  }

  /** Hangs up peers no longer allowed, then dials allowed peers that are not connected. */
  reconcile(which: 'above' | 'all'): void {
    if (this.#stopped) return;
    const allowed = this.#allowed();
    const self = this.#node.peerId.toString();
    const connected = new Set<string>();
    for (const peer of this.#node.getPeers()) {
      const id = peer.toString();
      if (allowed.has(id)) connected.add(id);
      else {
        this.#log.info({ event: 'gossip.peer_dropped', peer: id }, 'gossip peer no longer allowed; hanging up');
        this.#node.hangUp(peer).catch(() => undefined);
      }
    }
    for (const [id, address] of allowed) {
      if (id === self || address === undefined || connected.has(id) || this.#dialing.has(id)) continue;
      if (which === 'above' && id < self) continue;
      this.#dial(id, address);
    }
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #dial(id: string, address: string): void {
    let target: Multiaddr;
    try {
      target = this.#multiaddr(`${address}/p2p/${id}`);
    } catch (err) {
      this.#log.warn({ event: 'gossip.bad_address', peer: id, address, err: String(err) }, 'unusable gossip address');
      return;
    }
    this.#dialing.add(id);
    this.#node
      .dial(target, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
      .catch((err: unknown) =>
        this.#log.debug({ event: 'gossip.dial_failed', peer: id, address, err: String(err) }, 'gossip dial failed'),
      )
      .finally(() => this.#dialing.delete(id));
  }
}
