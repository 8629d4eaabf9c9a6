import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { silentLogger } from '../../../common/logger.js';
import type { Stores } from '../../../common/stores/index.js';
import {
  joinCluster,
  type NodeGossip,
  type NodeIdentity,
  nodePath,
  startNodeGossip,
  TrustState,
  type TrustStateOptions,
} from '../../../nodes/index.js';
import { openSqliteStores } from '../../../stores/index.js';
import { waitFor } from '../../common/gossip/wait.js';
import {
  cityEntityIdOf,
  startTestAnchor,
  TEST_SETTINGS,
  TempDirs,
  type TestAnchor,
} from '../../support/anchor-harness.js';
import { freePort } from '../../support/cli-process.js';

/** One joined node of a test cluster with its gossip running in this process. */
export interface GossipNode {
  readonly city: string;
  readonly dir: string;
  readonly identity: NodeIdentity;
  readonly trust: TrustState;
  readonly stores: Stores;
  gossip: NodeGossip;
  /** Versions this node kept from gossip, in order. */
  readonly fromGossip: number[];
}

export interface GossipCluster {
  readonly anchor: TestAnchor;
  readonly nodes: Record<string, GossipNode>;
  /** The node of `city` (throws for a city not started). */
  node(city: string): GossipNode;
  /** The anchor's gossip key, when the anchor was given a gossip binding. */
  readonly anchorKey?: PrivateKey;
  readonly anchorGossipAddress?: string;
  stop(): Promise<void>;
}

/**
 * An anchor on memory stores and one node per city, each joined for real (gossip key,
 * a loopback gossip address the anchor signs into metadata) with its gossip started
 * in this process once every node holds metadata listing all of them.
 */
export async function startGossipCluster(
  cities: readonly string[],
  options: { anchorGossip?: boolean; trust?: (city: string) => TrustStateOptions } = {},
): Promise<GossipCluster> {
  const anchorKey = options.anchorGossip ? await generateKeyPair('Ed25519') : undefined;
  const anchorGossipAddress = anchorKey ? `/ip4/127.0.0.1/tcp/${await freePort()}` : undefined;
  const anchor = await startTestAnchor({
    settings: {
      ...TEST_SETTINGS,
      ...(anchorKey && anchorGossipAddress
        ? { gossip: { peerId: peerIdFromPrivateKey(anchorKey).toString(), address: anchorGossipAddress } }
        : {}),
    },
  });
  const dirs = new TempDirs();
  const nodes: Record<string, GossipNode> = {};
  const joined: { city: string; dir: string; identity: NodeIdentity }[] = [];
  for (const city of cities) {
    const { token } = await anchor.anchor.invite(city);
    const dir = dirs.make(`citymesh-gossip-${city}-`);
    const identity = await joinCluster({
      dir,
      anchorUrl: anchor.server.url,
      token,
      nodeName: 'n1',
      entityId: cityEntityIdOf(city),
      grpcEndpoint: `localhost:${await freePort()}`,
      gossip: { port: await freePort() },
      clock: anchor.clock,
    });
    joined.push({ city, dir, identity });
  }
  for (const { city, dir, identity } of joined) {
    const trust = await TrustState.load(dir, anchor.clock, options.trust?.(city));
    await trust.refresh();
    const stores = openSqliteStores(nodePath(dir, 'store'));
    const node: GossipNode = {
      city,
      dir,
      identity,
      trust,
      stores,
      gossip: undefined as unknown as NodeGossip,
      fromGossip: [],
    };
    const started = await startNodeGossip({
      dir,
      identity,
      trust,
      stores,
      storeFile: nodePath(dir, 'store'),
      rootPem: anchor.rootPem,
      clock: anchor.clock,
      log: silentLogger,
      onMetadata: (version) => node.fromGossip.push(version),
      catalogPollMs: 3_600_000,
      redialMs: 500,
    });
    if (!started.on) throw new Error(`gossip of ${city} did not start: ${started.reason}`);
    node.gossip = started.gossip;
    nodes[city] = node;
  }
  const all = Object.values(nodes);
  await waitFor(
    () => all.every((n) => n.gossip.mesh.connectedPeers().length >= all.length - 1),
    'every node connected to every other',
    10_000,
  );
  return {
    anchor,
    nodes,
    node(city) {
      const n = nodes[city];
      if (n === undefined) throw new Error(`no node of ${city} in this cluster`);
      return n;
    },
    ...(anchorKey ? { anchorKey } : {}),
    ...(anchorGossipAddress ? { anchorGossipAddress } : {}),
    async stop() {
      // The folders go whatever fails before, and only after each node's pending trust
      // writes (made off the event loop) are done: a write landing after the removal made
      // its folder again, and dozens were left in the temp folder.
      try {
        for (const n of all) {
          await n.gossip.stop();
          await n.trust.flush();
          await n.stores.close();
        }
        await anchor.stop();
      } finally {
        dirs.removeAll();
      }
    },
  };
}

/** Waits until every one of `nodes` lists `peers` peers in its mesh for `topic`. */
export function meshFormed(nodes: readonly GossipNode[], topic: string, peers: number): Promise<void> {
  return waitFor(() => nodes.every((n) => n.gossip.mesh.meshPeers(topic).length >= peers), `mesh on ${topic}`, 10_000);
}
