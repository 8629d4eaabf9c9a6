import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterTopics, GossipMesh, readGossipKey } from '../../../common/gossip/index.js';
import { silentLogger } from '../../../common/logger.js';
import { metadataVerdict } from '../../../nodes/gossip/index.js';
import { nodePath } from '../../../nodes/index.js';
import { readNodeFile } from '../../../nodes/trust/node-files.js';
import {
  assertNotRevoked,
  type ClusterMetadataClaims,
  generateEcKeyPair,
  signClusterMetadata,
} from '../../../trust-anchor/index.js';
import { waitFor } from '../../common/gossip/wait.js';
import { codeOf } from '../../support/anchor-harness.js';
import { type GossipCluster, meshFormed, startGossipCluster } from './gossip-cluster.js';

const topics = clusterTopics('jjj');
const bytes = (jwt: string) => new TextEncoder().encode(jwt);

/** The current claims re-signed as version + 1 by a key that is not the anchor's, under the anchor's kid. */
async function forgedNextVersion(jwt: string): Promise<string> {
  const claims = decodeJwt(jwt) as unknown as ClusterMetadataClaims;
  const forger = await generateEcKeyPair();
  const kid = String(claims.anchor_keys.keys[0]?.kid);
  return signClusterMetadata(
    { ...claims, version: claims.version + 1, revocations: [] },
    {
      kid,
      privateKey: forger.privateKey,
      alg: 'ES256',
    },
  );
}

describe('cluster metadata on gossip', () => {
  let c: GossipCluster;
  beforeAll(async () => {
    c = await startGossipCluster(['beijing', 'tianjin', 'shijiazhuang', 'tangshan']);
  }, 90_000);
  afterAll(() => c?.stop());

  it('classifies documents as a pull would: newer accepted, held or older ignored, forged or garbage rejected', async () => {
    const tianjin = c.node('tianjin');
    const current = readNodeFile(tianjin.dir, 'metadata');
    const held = await metadataVerdict((jwt) => tianjin.trust.accept(jwt), bytes(current));
    expect(held).toMatchObject({ result: 'ignore' });
    const forged = await metadataVerdict((jwt) => tianjin.trust.accept(jwt), bytes(await forgedNextVersion(current)));
    expect(forged).toMatchObject({ result: 'reject', reason: expect.stringMatching(/^TOKEN_SIGNATURE_INVALID/) });
    const garbage = await metadataVerdict((jwt) => tianjin.trust.accept(jwt), bytes('not.a.jwt'));
    expect(garbage).toMatchObject({ result: 'reject', reason: expect.stringMatching(/^TOKEN_MALFORMED/) });
    const notUtf8 = await metadataVerdict((jwt) => tianjin.trust.accept(jwt), new Uint8Array([0xff, 0xfe]));
    expect(notUtf8).toMatchObject({ result: 'reject' });
    expect(tianjin.trust.metadata.version).toBe((decodeJwt(current) as { version: number }).version);
  });

  it('a revocation one node pulled reaches the others by gossip: applied at once, the revoked node hung up', async () => {
    const [beijing, tianjin, tangshan, shijiazhuang] = [
      c.node('beijing'),
      c.node('tianjin'),
      c.node('tangshan'),
      c.node('shijiazhuang'),
    ];
    await meshFormed([beijing, tianjin, tangshan], topics.revocations, 2);
    const before = beijing.trust.metadata.version;
    const revoked = await c.anchor.anchor.revoke('city', 'shijiazhuang', 'gossip test');
    // Only beijing pulls; the others can learn it from gossip alone.
    await beijing.trust.refresh();
    await beijing.gossip.publishMetadata(readNodeFile(beijing.dir, 'metadata'), before);

    await waitFor(
      () => tianjin.trust.metadata.version === revoked.version && tangshan.trust.metadata.version === revoked.version,
      'the revocation everywhere',
    );
    expect(tianjin.fromGossip).toEqual([revoked.version]);
    expect(await codeOf(() => assertNotRevoked(tangshan.trust.metadata, { city: 'shijiazhuang' }))).toBe(
      'CITY_REVOKED',
    );
    // It came on both topics: one copy applied it, the other was already held.
    const seen = tianjin.gossip.mesh.stats().topics;
    expect((seen[topics.revocations]?.accepted ?? 0) + (seen[topics.metadata]?.accepted ?? 0)).toBe(1);
    expect(seen[topics.revocations]?.rejected ?? 0).toBe(0);
    await waitFor(
      () =>
        [beijing, tianjin, tangshan].every((n) => !n.gossip.mesh.connectedPeers().includes(shijiazhuang.gossip.peerId)),
      'the revoked city hung up',
    );

    // An older version published again is dropped without effect.
    const older = (await c.anchor.stores.anchor.getMetadata(before))!.jwt;
    const ignoredBefore = tianjin.gossip.mesh.stats().topics[topics.metadata]?.ignored ?? 0;
    await beijing.gossip.mesh.publish(topics.metadata, bytes(older));
    await waitFor(
      () => (tianjin.gossip.mesh.stats().topics[topics.metadata]?.ignored ?? 0) > ignoredBefore,
      'the older version ignored',
    );
    expect(tianjin.trust.metadata.version).toBe(revoked.version);
  });

  it('forged metadata from a compromised node key is rejected by the first peer and never reaches the next', async () => {
    const [beijing, tianjin, tangshan] = [c.node('beijing'), c.node('tianjin'), c.node('tangshan')];
    // beijing's gossip key in other hands: a host connected to tianjin only, tangshan behind it.
    await beijing.gossip.stop();
    const rogue = await GossipMesh.start({
      privateKey: readGossipKey(nodePath(beijing.dir, 'gossipKey')).privateKey,
      allowedPeers: () => new Map([[tianjin.gossip.peerId, tianjin.gossip.mesh.addresses[0]]]),
      log: silentLogger,
      redialMs: 300,
    });
    try {
      await waitFor(() => rogue.subscribers(topics.metadata).includes(tianjin.gossip.peerId), 'rogue reaching tianjin');
      expect(rogue.connectedPeers()).toEqual([tianjin.gossip.peerId]);
      await meshFormed([tianjin, tangshan], topics.metadata, 1);
      const version = tianjin.trust.metadata.version;
      const counts = () => ({
        tianjin: { ...tianjin.gossip.mesh.stats().topics[topics.metadata] },
        tangshan: { ...tangshan.gossip.mesh.stats().topics[topics.metadata] },
      });
      const before = counts();

      const forged = await forgedNextVersion(readNodeFile(tianjin.dir, 'metadata'));
      expect(await rogue.publish(topics.metadata, bytes(forged))).toBe(1);
      await waitFor(() => (counts().tianjin.rejected ?? 0) > (before.tianjin.rejected ?? 0), 'tianjin rejecting');
      // A genuine version sent the same way is relayed: what tangshan did not get was withheld, not lost.
      const next = await c.anchor.anchor.rotate('publish');
      await rogue.publish(topics.metadata, bytes((await c.anchor.stores.anchor.getMetadata(next.version))!.jwt));
      await waitFor(() => tangshan.trust.metadata.version === next.version, 'the genuine version relayed to tangshan');
      expect(tianjin.trust.metadata.version).toBe(next.version);
      expect(next.version).toBe(version + 1);
      expect(counts().tangshan.rejected ?? 0).toBe(before.tangshan.rejected ?? 0);
      expect(tangshan.fromGossip.at(-1)).toBe(next.version);
    } finally {
      await rogue.stop();
    }
  });
});
