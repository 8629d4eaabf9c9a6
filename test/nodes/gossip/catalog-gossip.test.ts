import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterTopics } from '../../../common/gossip/index.js';
import { levelOf } from '../../../common/ids/index.js';
import type { CatalogEntry } from '../../../common/stores/index.js';
import { CatalogWatch, catalogChanges } from '../../../nodes/gossip/index.js';
import { nodePath } from '../../../nodes/index.js';
import { waitFor } from '../../common/gossip/wait.js';
import { type GossipCluster, meshFormed, startGossipCluster } from './gossip-cluster.js';

const entry = (name: string, version: string, at: Date): CatalogEntry => ({
  id: `jjj/beijing/transport-bureau/${name}`,
  version,
  kind: 'dataset',
  title: name,
  description: 'test dataset',
  ownerOrg: 'transport-bureau',
  city: 'beijing',
  industry: 'transport',
  regionCode: '110000',
  level: levelOf('110000'),
  classification: 'public',
  schema: { type: 'object' },
  license: 'CC-BY-4.0',
  requiresAgreement: false,
  publishedAt: at,
});

describe('catalogChanges', () => {
  const snap = (...rows: [string, string, boolean][]) =>
    new Map(
      rows.map(([id, version, withdrawn]) => [
        `${id}@${version}`,
        { id, version, kind: 'dataset' as const, industry: 'transport', withdrawn },
      ]),
    );

  it('names new ids published, new versions of known ids updated, and withdrawals', () => {
    const before = snap(['a', '1.0.0', false], ['b', '1.0.0', false]);
    const after = snap(['a', '1.0.0', true], ['b', '1.0.0', false], ['b', '1.1.0', false], ['c', '1.0.0', false]);
    expect(catalogChanges(before, after).map((c) => `${c.id}@${c.version}:${c.change}`)).toEqual([
      'a@1.0.0:withdrawn',
      'b@1.1.0:updated',
      'c@1.0.0:published',
    ]);
    expect(catalogChanges(after, after)).toEqual([]);
  });
});

describe('catalog changes on gossip', () => {
  let c: GossipCluster;
  beforeAll(async () => {
    c = await startGossipCluster(['beijing', 'tianjin', 'shijiazhuang']);
  }, 90_000);
  afterAll(() => c?.stop());

  it('announces what a data office published and withdrew, once, in signed notices the other nodes accept', async () => {
    const [beijing, tianjin, shijiazhuang] = [c.node('beijing'), c.node('tianjin'), c.node('shijiazhuang')];
    await meshFormed([beijing], clusterTopics('jjj').catalog, 2);
    const now = c.anchor.clock.now();
    await beijing.stores.catalog.put(entry('bus-stops', '1.0.0', now));
    await beijing.stores.catalog.put(entry('metro-lines', '2.1.0', now));

    expect(await beijing.gossip.announceCatalog()).toBe(1);
    const spiffe = 'spiffe://beijing.jjj.citymesh/node/n1';
    await waitFor(() => tianjin.gossip.board.latest(spiffe) !== undefined, 'tianjin hearing of it');
    const first = tianjin.gossip.board.latest(spiffe)!;
    expect(first.changes.map((ch) => `${ch.id}@${ch.version}:${ch.change}`).sort()).toEqual([
      'jjj/beijing/transport-bureau/bus-stops@1.0.0:published',
      'jjj/beijing/transport-bureau/metro-lines@2.1.0:published',
    ]);
    // Nothing new: nothing sent.
    expect(await beijing.gossip.announceCatalog()).toBe(0);

    await beijing.stores.catalog.withdraw('jjj/beijing/transport-bureau/bus-stops', now);
    expect(await beijing.gossip.announceCatalog()).toBe(1);
    await waitFor(
      () =>
        shijiazhuang.gossip.board.latest(spiffe)?.seq !== first.seq && shijiazhuang.gossip.stats().catalogNotices === 2,
      'the withdrawal',
    );
    expect(shijiazhuang.gossip.board.latest(spiffe)!.changes).toEqual([
      expect.objectContaining({ id: 'jjj/beijing/transport-bureau/bus-stops', change: 'withdrawn' }),
    ]);
    expect(shijiazhuang.gossip.board.latest(spiffe)!.seq).toBeGreaterThan(first.seq);
    expect(tianjin.gossip.mesh.stats().topics[clusterTopics('jjj').catalog]).toMatchObject({
      accepted: 2,
      rejected: 0,
    });

    // What was announced is remembered across a restart: a new watch finds nothing pending.
    const restarted = new CatalogWatch(beijing.dir, nodePath(beijing.dir, 'store'), beijing.stores.catalog, 'beijing');
    expect(await restarted.pending()).toEqual([]);
    expect(restarted.nextSeq(0)).toBeGreaterThan(shijiazhuang.gossip.board.latest(spiffe)!.seq);
  });
});
