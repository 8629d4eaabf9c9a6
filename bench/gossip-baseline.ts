import '../common/gossip/polyfill.js';
import type { Libp2p } from '@libp2p/interface';
import { percentilesOf } from './percentiles.js';

const TOPIC = 'citymesh-bench/baseline';

interface Router {
  subscribe(topic: string): void;
  publish(topic: string, data: Uint8Array): Promise<unknown>;
  getSubscribers(topic: string): unknown[];
  addEventListener(
    type: 'gossipsub:message',
    listener: (event: CustomEvent<{ msg: { data: Uint8Array } }>) => void,
  ): void;
}

const routerOf = (node: Libp2p) => (node.services as { pubsub: unknown }).pubsub as Router;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Bare gossipsub among `peers` in-process libp2p hosts (TCP, noise, yamux on loopback,
 * every pair connected, as a cluster's nodes are): one peer publishes `messages`
 * messages, 100 ms apart, and each other peer's delivery time is a sample. Its p99 is
 * how fast metadata could spread with nothing but the transport: no signature checks,
 * no validation, no process boundaries, no disk.
 */
export async function gossipDeliveryBaseline(
  peers: number,
  messages: number,
): Promise<{ p99Ms: number; samples: number }> {
  const [{ createLibp2p }, { tcp }, { noise }, { yamux }, { identify }, { gossipsub }] = await Promise.all([
    import('libp2p'),
    import('@libp2p/tcp'),
    import('@chainsafe/libp2p-noise'),
    import('@chainsafe/libp2p-yamux'),
    import('@libp2p/identify'),
    import('@libp2p/gossipsub'),
  ]);
  const nodes: Libp2p[] = [];
  try {
    for (let i = 0; i < peers; i++) {
      nodes.push(
        await createLibp2p({
          addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
          transports: [tcp()],
          connectionEncrypters: [noise()],
          streamMuxers: [yamux()],
          connectionManager: { inboundConnectionThreshold: 1000, maxIncomingPendingConnections: 256 },
          // The same mesh parameters as the cluster's gossip (common/gossip/mesh.ts), the
          // IP-colocation penalty off included: with more than 10 peers on 127.0.0.1 it
          // graylists every one of them (docs/specs/gossip.md §9).
          services: {
            identify: identify(),
            pubsub: gossipsub({
              emitSelf: false,
              floodPublish: true,
              D: 8,
              Dlo: 6,
              Dhi: 16,
              heartbeatInterval: 500,
              scoreParams: { IPColocationFactorWeight: 0 },
            }),
          },
        }),
      );
    }
    for (const node of nodes) routerOf(node).subscribe(TOPIC);
    for (const [i, node] of nodes.entries()) {
      for (const other of nodes.slice(i + 1)) await node.dial(other.getMultiaddrs()[0]!);
    }
    const publisher = routerOf(nodes[0]!);
    for (let waited = 0; publisher.getSubscribers(TOPIC).length < peers - 1 && waited < 20_000; waited += 100) {
      await sleep(100);
    }
    await sleep(1_500); // a few heartbeats: the mesh forms
    const samples: number[] = [];
    for (const node of nodes.slice(1)) {
      routerOf(node).addEventListener('gossipsub:message', (event) => {
        const sent = Number(new TextDecoder().decode(event.detail.msg.data).split(' ')[1]);
        samples.push(performance.now() - sent);
      });
    }
    for (let m = 0; m < messages; m++) {
      await publisher.publish(TOPIC, new TextEncoder().encode(`${m} ${performance.now()}`));
      await sleep(100);
    }
    await sleep(1_000);
    if (samples.length === 0) throw new Error('gossip baseline: no message was delivered');
    return { p99Ms: percentilesOf(samples).p99, samples: samples.length };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}
