/** The gossip topics of a cluster; `/1` is the message format version. */
export const GOSSIP_TOPIC_KINDS = ['metadata', 'revocations', 'catalog'] as const;

/** One of {@link GOSSIP_TOPIC_KINDS}. */
export type GossipTopicKind = (typeof GOSSIP_TOPIC_KINDS)[number];

/** `citymesh/<cluster>/<kind>/1`. */
export function gossipTopic(cluster: string, kind: GossipTopicKind): string {
  return `citymesh/${cluster}/${kind}/1`;
}

/** The three topic names of a cluster, by kind. */
export function clusterTopics(cluster: string): Readonly<Record<GossipTopicKind, string>> {
  return {
    metadata: gossipTopic(cluster, 'metadata'),
    revocations: gossipTopic(cluster, 'revocations'),
    catalog: gossipTopic(cluster, 'catalog'),
  };
}

/**
 * Where a metadata version is published: the revocations topic when the version carries a
 * revocation newer than `sinceVersion` (each revocation records the version that first
 * carried it), else the metadata topic. Never both: every node subscribes to both and
 * admits the document from either, so a second copy would tell no one anything, while
 * doubling the cluster's traffic and validation work at the moment a revocation spreads.
 */
export function metadataTopicsFor(
  cluster: string,
  claims: { readonly revocations: readonly { readonly version: number }[] },
  sinceVersion: number,
): string[] {
  const topics = clusterTopics(cluster);
  const revokes = claims.revocations.some((r) => r.version > sinceVersion);
  return [revokes ? topics.revocations : topics.metadata];
}
