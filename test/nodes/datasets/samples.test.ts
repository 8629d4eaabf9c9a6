import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../common/clock.js';
import { INDUSTRIES } from '../../../common/ids/industry.js';
import { parseManifest, publishManifest } from '../../../nodes/catalog/index.js';
import { compileRecordSchema, importRecords } from '../../../nodes/datasets/index.js';
import { SAMPLE_DATASETS, sampleCatalog } from '../../../simulations/samples/index.js';
import { openMemoryStores } from '../../../stores/index.js';
import { tempDir } from './support.js';

// A municipality with bundled districts, a prefecture city without, and one of another cluster.
const CITIES = [
  ['jjj', 'beijing'],
  ['jjj', 'shijiazhuang'],
  ['prd', 'shenzhen'],
] as const;

describe('sample catalogs', () => {
  it.each(CITIES)('parse as a manifest of %s/%s and every record fits its schema', (cluster, city) => {
    const sample = sampleCatalog(cluster, city);
    const parsed = parseManifest(sample.manifest, { cluster, city });
    const datasets = parsed.entries.filter((e) => e.kind === 'dataset');
    expect(datasets.map((e) => e.id).sort()).toEqual(sample.datasets.map((d) => d.id).sort());
    for (const { id, records } of sample.datasets) {
      const entry = datasets.find((e) => e.id === id);
      const validator = compileRecordSchema(entry?.schema ?? {});
      expect(records.length, id).toBeGreaterThanOrEqual(24);
      for (const record of records) expect(validator.check(record), `${id} ${JSON.stringify(record)}`).toBeUndefined();
      expect(new Set(records.map((r) => r.id)).size, `${id} record ids are unique`).toBe(records.length);
    }
  });

  it('span at least six registered industries, every classification, and agreements', () => {
    const { manifest } = sampleCatalog('jjj', 'tianjin');
    const industries = new Set(SAMPLE_DATASETS.map((d) => d.industry));
    expect(industries.size).toBeGreaterThanOrEqual(6);
    for (const industry of industries) expect(INDUSTRIES.map((i) => i.id)).toContain(industry);
    expect(new Set(SAMPLE_DATASETS.map((d) => d.classification))).toEqual(
      new Set(['public', 'internal', 'sensitive', 'restricted']),
    );
    expect(SAMPLE_DATASETS.some((d) => d.requiresAgreement)).toBe(true);
    expect(manifest.capabilities?.map((c) => c.backend.builtin)).toEqual(['region-lookup', 'air-quality-summary']);
  });

  it('are the same for the same city and differ between cities', () => {
    expect(sampleCatalog('jjj', 'beijing')).toEqual(sampleCatalog('jjj', 'beijing'));
    expect(sampleCatalog('jjj', 'beijing').datasets[0]?.records).not.toEqual(
      sampleCatalog('jjj', 'tianjin').datasets[0]?.records,
    );
  });

  it('publish and import into a node end to end', async () => {
    const stores = openMemoryStores();
    const clock = new ManualClock();
    const node = { cluster: 'jjj', city: 'tianjin' };
    const sample = sampleCatalog(node.cluster, node.city);
    await publishManifest({ catalog: stores.catalog, clock, dir: tempDir() }, parseManifest(sample.manifest, node));
    for (const { id, records } of sample.datasets) {
      const report = await importRecords(
        { catalog: stores.catalog, records: stores.records, clock },
        {
          node,
          datasetId: id,
          format: 'ndjson',
          idField: 'id',
          source: Readable.from(records.map((r) => `${JSON.stringify(r)}\n`)),
        },
      );
      expect(report.badRows, id).toEqual([]);
      expect(await stores.records.count(id)).toBe(records.length);
    }
  });
});
