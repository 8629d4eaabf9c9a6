import pkg from '../../package.json' with { type: 'json' };
import { type GetNodeStatusResponse, StoreStatus } from '../../proto/gen/citymesh/v1/node_service.js';
import type { TrustState } from '../trust/trust-state.js';
import type { NodeTlsIdentity } from './tls-identity.js';

/** Where the metadata version a node holds came from. */
export type MetadataSource = 'anchor' | 'gossip' | 'cache';

/** What the node's gossip reports; absent when gossip is off. */
export interface GossipFacts {
  readonly peerId: string;
  readonly connectedPeers: number;
  readonly catalogNotices: number;
}

/** Facts the status report needs that only the running node knows. */
export interface LiveFacts {
  /** When the node last obtained metadata (anchor pull or gossip), changed or not. */
  refreshedAt: Date | undefined;
  anchorReachable: boolean;
  storeOk: boolean;
  /** When the version held was accepted, and from where. */
  metadataAcceptedAt: Date | undefined;
  metadataSource: MetadataSource;
  gossip?: () => GossipFacts;
}

/** The node's health as `NodeService/GetNodeStatus` and `node status` report it. */
export function nodeStatus(
  trust: TrustState,
  tls: NodeTlsIdentity,
  live: LiveFacts,
  policyVersion: string,
): GetNodeStatusResponse {
  const status = trust.status();
  const gossip = live.gossip?.();
  const [, node = ''] = /\/node\/(.+)$/.exec(trust.identity.spiffeId) ?? [];
  return {
    cluster: status.cluster,
    city: status.city,
    node,
    nodeId: status.node,
    metadataVersion: status.metadataVersion,
    metadataExpiresAt: new Date(status.metadataExpiresAt),
    metadataRefreshedAt: live.refreshedAt,
    offlineBudgetRemainingSeconds: status.offlineBudgetSeconds,
    anchorReachable: live.anchorReachable,
    storeStatus: live.storeOk ? StoreStatus.STORE_STATUS_OK : StoreStatus.STORE_STATUS_UNAVAILABLE,
    storeBackend: 'sqlite',
    policyVersion,
    certificateExpiresAt: tls.notAfter,
    softwareVersion: pkg.version,
    metadataAcceptedAt: live.metadataAcceptedAt,
    metadataSource: live.metadataSource,
    gossipPeerId: gossip?.peerId ?? '',
    gossipConnectedPeers: gossip?.connectedPeers ?? 0,
    catalogNotices: gossip?.catalogNotices ?? 0,
  };
}
