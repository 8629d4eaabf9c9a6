import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterTopics, GossipMesh, readGossipKey } from '../../../common/gossip/index.js';
import { silentLogger } from '../../../common/logger.js';
import { metadataValidator } from '../../../nodes/gossip/index.js';
import { nodePath } from '../../../nodes/index.js';
import { readNodeFile, writeFileAtomicAsync } from '../../../nodes/trust/node-files.js';
import { waitFor } from '../../common/gossip/wait.js';
import { type GossipCluster, meshFormed, startGossipCluster } from './gossip-cluster.js';

const topics = clusterTopics('jjj');
const bytes = (jwt: string) => new TextEncoder().encode(jwt);
const versionOf = (jwt: string) => (decodeJwt(jwt) as { version: number }).version;

/** A disk that, once closed, holds every write until opened again; then writes for real, in the order asked. */
class GatedDisk {
  readonly held: string[] = [];
  #open = true;
  #waiting: (() => void)[] = [];

  close(): void {
    this.#open = false;
  }

  readonly write = async (path: string, content: string): Promise<void> => {
    if (!this.#open) {
      this.held.push(path);
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    await writeFileAtomicAsync(path, content);
  };

  open(): void {
    this.#open = true;
    for (const go of this.#waiting.splice(0)) go();
  }
}

describe('the metadata validator', () => {
  it('leaves what follows a newer version until after the verdict, once the message is relayed', async () => {
    const followed: number[] = [];
    const validate = metadataValidator(
      async () => ({ version: 7, changed: true }),
      (version) => followed.push(version),
    );
    const verdict = await validate(bytes('a.b.c'), 'origin');
    expect(verdict.result).toBe('accept');
    expect(followed).toEqual([]);
    if (verdict.result !== 'accept') throw new Error('not accepted');
    verdict.afterRelay?.();
    expect(followed).toEqual([7]);

    // A version already held is ignored and brings no work.
    const held = await metadataValidator(
      async () => ({ version: 7, changed: false }),
      (version) => followed.push(version),
    )(bytes('a.b.c'), 'origin');
    expect(held).toMatchObject({ result: 'ignore' });
    expect(held).not.toHaveProperty('afterRelay');
  });
});

describe('relaying metadata', () => {
  let c: GossipCluster;
  const tianjinDisk = new GatedDisk();
  beforeAll(async () => {
    c = await startGossipCluster(['beijing', 'tianjin', 'tangshan'], {
      trust: (city) => (city === 'tianjin' ? { writeFile: tianjinDisk.write } : {}),
    });
  }, 90_000);
  afterAll(async () => {
    tianjinDisk.open();
    await c?.stop();
  });

  it('does not wait for the disk: a node whose writes hang still relays a newer version at once', async () => {
    const [beijing, tianjin, tangshan] = [c.node('beijing'), c.node('tianjin'), c.node('tangshan')];
    // A publisher that reaches tianjin only (beijing's key on a host allowed to dial tianjin
    // alone): tangshan can get the version only through tianjin's relay.
    const beijingId = beijing.gossip.peerId;
    await beijing.gossip.stop();
    const dropped = (what: string) =>
      waitFor(
        () =>
          !tianjin.gossip.mesh.connectedPeers().includes(beijingId) &&
          !tianjin.gossip.mesh.subscribers(topics.metadata).includes(beijingId),
        what,
        20_000,
      );
    await dropped('tianjin dropping the stopped beijing');
    // The publisher comes back under beijing's peer id. Now and then tianjin's gossipsub
    // never sends its subscriptions over the new connection (seen with both connected and
    // nothing subscribed after 8 s); a fresh connection then gets them. Not what this test
    // is about, so it tries up to three connections.
    let publisher: GossipMesh | undefined;
    for (let attempt = 1; publisher === undefined; attempt++) {
      const candidate = await GossipMesh.start({
        privateKey: readGossipKey(nodePath(beijing.dir, 'gossipKey')).privateKey,
        allowedPeers: () => new Map([[tianjin.gossip.peerId, tianjin.gossip.mesh.addresses[0]]]),
        log: silentLogger,
        redialMs: 300,
      });
      try {
        await waitFor(
          () => candidate.subscribers(topics.metadata).includes(tianjin.gossip.peerId),
          'the publisher reaching tianjin',
          8_000,
        );
        publisher = candidate;
      } catch (err) {
        await candidate.stop();
        if (attempt === 3) throw err;
        await dropped('tianjin dropping the publisher that got no subscription');
      }
    }
    try {
      await meshFormed([tianjin, tangshan], topics.metadata, 1);
      const onDisk = versionOf(readNodeFile(tianjin.dir, 'metadata'));
      tianjinDisk.close();
      const next = await c.anchor.anchor.rotate('publish');
      const jwt = (await c.anchor.stores.anchor.getMetadata(next.version))!.jwt;

      expect(await publisher.publish(topics.metadata, bytes(jwt))).toBe(1);
      await waitFor(() => tangshan.trust.metadata.version === next.version, 'the version relayed to tangshan');
      // tianjin holds it, acted on it and relayed it, while its files still hold the old version.
      expect(tianjin.trust.metadata.version).toBe(next.version);
      expect(tianjin.fromGossip).toContain(next.version);
      expect(tianjinDisk.held.length).toBeGreaterThan(0);
      expect(versionOf(readNodeFile(tianjin.dir, 'metadata'))).toBe(onDisk);

      tianjinDisk.open();
      await tianjin.trust.flush();
      expect(versionOf(readNodeFile(tianjin.dir, 'metadata'))).toBe(next.version);
    } finally {
      await publisher.stop();
    }
  }, 90_000);
});
