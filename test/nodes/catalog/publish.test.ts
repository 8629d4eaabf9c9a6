import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../common/clock.js';
import { BACKENDS_FILE, CapabilityBackends, parseManifest, publishManifest } from '../../../nodes/catalog/index.js';
import { sampleCatalog } from '../../../simulations/samples/index.js';
import { openMemoryStores } from '../../../stores/index.js';
import { tempDir } from './support.js';

const NODE = { cluster: 'jjj', city: 'tianjin' };

function setup() {
  const stores = openMemoryStores();
  const clock = new ManualClock();
  const dir = tempDir();
  const publish = (manifest: object) =>
    publishManifest({ catalog: stores.catalog, clock, dir }, parseManifest(manifest, NODE));
  return { stores, clock, dir, publish };
}

describe('publishManifest', () => {
  it('publishes every entry and registers capability backends in the node folder', async () => {
    const { stores, dir, publish } = setup();
    const { manifest } = sampleCatalog(NODE.cluster, NODE.city);
    const result = await publish(manifest);
    expect(result.entries.every((e) => e.status === 'published')).toBe(true);
    expect(result.entries).toHaveLength(10);
    const listed = await stores.catalog.list({ industry: 'environment' });
    expect(listed.items.map((e) => `${e.kind} ${e.id}`)).toEqual([
      'dataset jjj/tianjin/ecology-bureau/air-quality-hourly',
      'capability jjj/tianjin/ecology-bureau/air-quality-summary',
    ]);
    const backends = CapabilityBackends.load(dir);
    expect(backends.find('jjj/tianjin/ecology-bureau/air-quality-summary').backend).toEqual({
      kind: 'builtin',
      handler: 'air-quality-summary',
      dataset: 'jjj/tianjin/ecology-bureau/air-quality-hourly',
    });
  });

  it('is idempotent: publishing the same manifest again changes nothing', async () => {
    const { stores, clock, dir, publish } = setup();
    const { manifest } = sampleCatalog(NODE.cluster, NODE.city);
    await publish(manifest);
    const file = readFileSync(join(dir, BACKENDS_FILE), 'utf8');
    clock.advance(60_000);
    const again = await publish(manifest);
    expect(again.entries.every((e) => e.status === 'unchanged')).toBe(true);
    expect(readFileSync(join(dir, BACKENDS_FILE), 'utf8')).toBe(file);
    const entry = await stores.catalog.get('jjj/tianjin/transport-commission/bus-stops');
    expect(entry?.publishedAt).toEqual(new Date(clock.nowMs() - 60_000));
  });

  it('refuses a changed entry at a published version and asks for a new version, writing nothing', async () => {
    const { stores, publish } = setup();
    const { manifest } = sampleCatalog(NODE.cluster, NODE.city);
    await publish(manifest);
    const changed = structuredClone(manifest);
    const [first, second] = changed.datasets ?? [];
    if (first === undefined || second === undefined) throw new Error('samples have datasets');
    first.title = 'Bus stops (revised)';
    second.classification = 'restricted';
    const extra = { ...first, name: 'tram-stops', title: 'Tram stops' };
    changed.datasets?.push(extra);
    await expect(publish(changed)).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
      message: expect.stringMatching(
        /bus-stops@1\.0\.0 \(changed: title\).*air-quality-hourly@1\.0\.0 \(changed: classification\).*bump the version/,
      ),
    });
    expect(await stores.catalog.get('jjj/tianjin/transport-commission/tram-stops')).toBeUndefined();

    first.version = '1.1.0';
    second.version = '1.0.1';
    const bumped = await publish(changed);
    expect(bumped.entries.filter((e) => e.status === 'published').map((e) => `${e.id}@${e.version}`)).toEqual([
      'jjj/tianjin/transport-commission/bus-stops@1.1.0',
      'jjj/tianjin/ecology-bureau/air-quality-hourly@1.0.1',
      'jjj/tianjin/transport-commission/tram-stops@1.0.0',
    ]);
    expect((await stores.catalog.get('jjj/tianjin/transport-commission/bus-stops'))?.title).toBe('Bus stops (revised)');
  });

  it('lets a capability move to another upstream without a new version (backends are node-local)', async () => {
    const { dir, publish } = setup();
    const capability = (url: string) => ({
      manifestVersion: 1,
      cluster: 'jjj',
      city: 'tianjin',
      capabilities: [
        {
          name: 'permit-check',
          ownerOrg: 'government-service-center',
          version: '1.0.0',
          title: 'Permit check',
          industry: 'government-services',
          regionCode: '120000',
          classification: 'internal',
          license: 'CC-BY-4.0',
          schema: { type: 'object' },
          backend: { url },
        },
      ],
    });
    await publish(capability('http://10.0.0.1/permits'));
    const moved = await publish(capability('http://10.0.0.2/permits'));
    expect(moved.entries[0]?.status).toBe('unchanged');
    const record = CapabilityBackends.load(dir).find('jjj/tianjin/government-service-center/permit-check@1.0.0');
    expect(record.backend).toMatchObject({ kind: 'http', url: 'http://10.0.0.2/permits', timeoutMs: 5000 });
  });
});
