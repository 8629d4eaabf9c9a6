import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../support/cli-in-process.js';
import { startTestCluster, type TestCluster, testEntry } from './cluster-fixture.js';

let cluster: TestCluster;
let appDir: string;
const BUS = 'jjj/beijing/transport-bureau/bus-stops';
const STATS = 'jjj/beijing/transport-bureau/ridership';

beforeAll(async () => {
  cluster = await startTestCluster(['beijing', 'tianjin']);
  const stores = cluster.cities.beijing!.node.context.stores;
  await stores.catalog.put(testEntry('beijing', 'bus-stops'));
  await stores.catalog.put(testEntry('beijing', 'ridership', { classification: 'internal' }));
  await stores.records.appendBatch(BUS, [{ json: '{"stop":1}' }, { json: '{"stop":2}' }], new Date());
  appDir = (await cluster.app('tianjin', 'cli-planner')).dir;
});

afterAll(() => cluster?.stop());

describe('citymesh client (an app on the command line)', () => {
  it('searches the cluster and fetches another city’s records with the provider’s receipt', async () => {
    const search = await cli('client', 'search', 'bus', '--app', appDir);
    expect(search.code, search.err).toBe(0);
    const found = JSON.parse(search.out) as { answeredCities: string[]; entries: { id: string }[] };
    expect(found.answeredCities).toEqual(['beijing', 'tianjin']);
    expect(found.entries.map((e) => e.id)).toEqual([`${BUS}@1.0.0`]);

    const fetched = await cli('client', 'fetch', BUS, '--app', appDir, '--purpose', 'traffic-planning');
    expect(fetched.code, fetched.err).toBe(0);
    const page = JSON.parse(fetched.out) as { records: { record: unknown }[]; receipt: { providerNodeId: string } };
    expect(page.records.map((r) => r.record)).toEqual([{ stop: 1 }, { stop: 2 }]);
    expect(page.receipt.providerNodeId).toBe('spiffe://beijing.jjj.citymesh/node/n1');
  });

  it('streams records as NDJSON and prints the refusal reason when policy denies', async () => {
    const streamed = await cli('client', 'stream', BUS, '--app', appDir, '--purpose', 'traffic-planning');
    expect(streamed.code, streamed.err).toBe(0);
    expect(
      streamed.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([{ stop: 1 }, { stop: 2 }]);
    const denied = await cli('client', 'fetch', STATS, '--app', appDir, '--purpose', 'traffic-planning');
    expect(denied.code).toBe(1);
    expect(denied.err).toContain('[POLICY_DENIED]');
    await cluster.grant('beijing', {
      city: 'tianjin',
      resource: STATS,
      actions: ['read'],
      maxClassification: 'internal',
    });
    expect((await cli('client', 'fetch', STATS, '--app', appDir, '--purpose', 'traffic-planning')).code).toBe(0);
  });
});
