import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterTopics } from '../../common/gossip/index.js';
import { silentLogger } from '../../common/logger.js';
import { AnchorPublisher, assertNotRevoked } from '../../trust-anchor/index.js';
import { waitFor } from '../common/gossip/wait.js';
import { type GossipCluster, startGossipCluster } from '../nodes/gossip/gossip-cluster.js';
import { codeOf } from '../support/anchor-harness.js';

const topics = clusterTopics('jjj');

describe('the anchor publishing metadata on gossip', () => {
  let c: GossipCluster;
  let publisher: AnchorPublisher;
  beforeAll(async () => {
    c = await startGossipCluster(['beijing', 'tianjin', 'shijiazhuang'], { anchorGossip: true });
    publisher = await AnchorPublisher.start({
      privateKey: c.anchorKey!,
      listen: c.anchorGossipAddress!,
      cluster: 'jjj',
      latest: () => c.anchor.stores.anchor.latestMetadata(),
      log: silentLogger,
      pollMs: 100,
      redialMs: 300,
    });
  }, 90_000);
  afterAll(async () => {
    await publisher?.stop();
    await c?.stop();
  });

  it('is admitted by every node through the metadata it signs, and reaches them all', async () => {
    const ids = Object.values(c.nodes).map((n) => n.gossip.peerId);
    expect([...publisher.allowedPeers().keys()].sort()).toEqual([...ids, publisher.peerId].sort());
    await waitFor(
      () => ids.every((id) => publisher.mesh.subscribers(topics.revocations).includes(id)),
      'every node subscribed, as the anchor sees it',
    );
  });

  it('publishes a revocation written to its store to every node within a poll, no pull needed', async () => {
    const [beijing, tianjin, shijiazhuang] = [c.node('beijing'), c.node('tianjin'), c.node('shijiazhuang')];
    // Every message seen there, whatever its verdict: a second copy of a held version is ignored, not accepted.
    const onMetadata = () => {
      const seen = beijing.gossip.mesh.stats().topics[topics.metadata];
      return (seen?.accepted ?? 0) + (seen?.ignored ?? 0) + (seen?.rejected ?? 0);
    };
    const metadataBefore = onMetadata();
    const started = Date.now();
    const revoked = await c.anchor.anchor.revoke('city', 'shijiazhuang', 'publisher test');
    await waitFor(
      () => [beijing, tianjin].every((n) => n.trust.metadata.version === revoked.version),
      'the revocation at every node',
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(beijing.fromGossip.at(-1)).toBe(revoked.version);
    expect(await codeOf(() => assertNotRevoked(tianjin.trust.metadata, { city: 'shijiazhuang' }))).toBe('CITY_REVOKED');
    expect(tianjin.gossip.mesh.stats().topics[topics.revocations]).toMatchObject({ rejected: 0 });
    // On the revocations topic only: a second copy on the metadata topic would tell no one anything.
    await new Promise((r) => setTimeout(r, 300));
    expect(onMetadata()).toBe(metadataBefore);
    await waitFor(
      () => !publisher.mesh.connectedPeers().includes(shijiazhuang.gossip.peerId),
      'the anchor hanging up the revoked city',
    );
  });

  it('publishes a version that revokes nothing on the metadata topic only', async () => {
    const beijing = c.node('beijing');
    const onRevocations = () => beijing.gossip.mesh.stats().topics[topics.revocations]?.accepted ?? 0;
    const revocationsBefore = onRevocations();
    const next = await c.anchor.anchor.rotate('publish');
    await waitFor(() => beijing.trust.metadata.version === next.version, 'the new version at beijing');
    expect(beijing.gossip.mesh.stats().topics[topics.metadata]?.accepted).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(onRevocations()).toBe(revocationsBefore);
  });
});
