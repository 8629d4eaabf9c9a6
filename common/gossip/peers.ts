import type { AllowedPeers } from './peer-keeper.js';

/** What gossip reads of the anchor-signed cluster metadata (a structural view of its claims). */
export interface GossipMetadataView {
  readonly members: readonly {
    readonly city: string;
    readonly nodes: readonly {
      readonly spiffe_id: string;
      readonly gossip_peer_id?: string;
      readonly gossip_address?: string;
    }[];
  }[];
  readonly revocations: readonly { readonly kind: string; readonly id: string }[];
  readonly gossip?: { readonly anchor_peer_id: string; readonly anchor_address: string };
}

/**
 * The peers metadata admits to the cluster's mesh: every node with a gossip peer id whose
 * city and node are not revoked, and the anchor when it publishes. The binding of peer id
 * to node comes from the anchor's signature over the metadata, nothing else.
 */
export function allowedPeersOf(metadata: GossipMetadataView): AllowedPeers {
  const revokedCities = new Set(metadata.revocations.filter((r) => r.kind === 'city').map((r) => r.id));
  const revokedNodes = new Set(metadata.revocations.filter((r) => r.kind === 'node').map((r) => r.id));
  const peers = new Map<string, string | undefined>();
  for (const member of metadata.members) {
    if (revokedCities.has(member.city)) continue;
    for (const node of member.nodes) {
      if (node.gossip_peer_id === undefined || revokedNodes.has(node.spiffe_id)) continue;
      peers.set(node.gossip_peer_id, node.gossip_address);
    }
  }
  if (metadata.gossip !== undefined) peers.set(metadata.gossip.anchor_peer_id, metadata.gossip.anchor_address);
  return peers;
}

/** The gossip entry metadata lists for one node, if any. */
export function gossipEntryOf(
  metadata: GossipMetadataView,
  spiffeId: string,
): { readonly peerId: string; readonly address: string | undefined } | undefined {
  for (const member of metadata.members) {
    const node = member.nodes.find((n) => n.spiffe_id === spiffeId);
    if (node?.gossip_peer_id !== undefined) return { peerId: node.gossip_peer_id, address: node.gossip_address };
  }
  return undefined;
}
