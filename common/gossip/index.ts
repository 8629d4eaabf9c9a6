/**
 * Cluster gossip: the libp2p host on a closed mesh (`GossipMesh`), the node and anchor
 * gossip keys, the topic names, and the peers cluster metadata admits.
 *
 * @packageDocumentation
 */
import './polyfill.js';

export { type GossipIdentity, isEd25519PeerId, loadOrCreateGossipKey, readGossipKey } from './key.js';
export {
  type AllowedPeers,
  GossipMesh,
  type GossipMeshOptions,
  type GossipStats,
  type TopicCounts,
  type TopicValidator,
  type Verdict,
} from './mesh.js';
export { allowedPeersOf, type GossipMetadataView, gossipEntryOf } from './peers.js';
export { clusterTopics, GOSSIP_TOPIC_KINDS, type GossipTopicKind, gossipTopic, metadataTopicsFor } from './topics.js';
