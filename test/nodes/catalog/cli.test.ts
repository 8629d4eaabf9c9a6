import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { NodeIdentity } from '../../../nodes/index.js';
import { nodePath } from '../../../nodes/index.js';
import { type SampleFiles, writeSampleCatalog } from '../../../simulations/samples/index.js';
import { openSqliteStores } from '../../../stores/index.js';
import { cli } from '../../support/cli-in-process.js';
import { tempDir } from './support.js';

const dir = tempDir();
let samples: SampleFiles;

async function recordCount(datasetId: string): Promise<number> {
  const stores = openSqliteStores(nodePath(dir, 'store'));
  try {
    return await stores.records.count(datasetId);
  } finally {
    await stores.close();
  }
}

beforeAll(async () => {
  const identity: NodeIdentity = {
    cluster: 'jjj',
    city: 'tianjin',
    nodeName: 'n1',
    spiffeId: 'spiffe://tianjin.jjj.citymesh/node/n1',
    entityId: 'https://localhost:8443',
    grpcEndpoint: 'localhost:7443',
    anchorUrl: 'https://localhost:7000',
    anchorEntityId: 'https://localhost:7000',
    joinedAt: new Date(0).toISOString(),
  };
  writeFileSync(nodePath(dir, 'identity'), JSON.stringify(identity));
  await openSqliteStores(nodePath(dir, 'store')).close();
  samples = writeSampleCatalog(join(dir, 'samples'), 'jjj', 'tianjin');
});

describe('citymesh catalog and datasets on a node folder', () => {
  it('publishes a manifest, and publishing it again changes nothing', async () => {
    const first = await cli('catalog', 'publish', samples.manifest, '--dir', dir);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    const published = JSON.parse(first.out) as { entries: { status: string }[]; backends: number };
    expect(published.entries).toHaveLength(10);
    expect(published.entries.every((e) => e.status === 'published')).toBe(true);
    expect(published.backends).toBe(2);
    const again = await cli('catalog', 'publish', samples.manifest, '--dir', dir);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.out) as { entries: { status: string }[] }).entries.map((e) => e.status)).not.toContain(
      'published',
    );
  });

  it('lists the catalog by industry, and suggests an industry for a typo', async () => {
    const listed = await cli('catalog', 'list', '--dir', dir, '--industry', 'environment');
    expect(listed.code).toBe(0);
    const entries = JSON.parse(listed.out) as { id: string; kind: string; schema?: unknown }[];
    expect(entries.map((e) => `${e.kind} ${e.id}`)).toEqual([
      'dataset jjj/tianjin/ecology-bureau/air-quality-hourly',
      'capability jjj/tianjin/ecology-bureau/air-quality-summary',
    ]);
    const typo = await cli('catalog', 'list', '--dir', dir, '--industry', 'enviroment');
    expect(typo.code).toBe(1);
    expect(typo.err).toContain('did you mean "environment"?');
    expect(typo.err).toMatch(/\[INVALID_IDENTIFIER\]\n$/);
  });

  it('imports CSV and NDJSON sample files, idempotently with record ids', async () => {
    for (const { datasetId, file } of samples.imports) {
      const r = await cli('datasets', 'import', datasetId, file, '--dir', dir, '--id-field', 'id');
      expect(r.code, `${datasetId}: ${r.err}`).toBe(0);
      expect(r.out).toMatch(new RegExp(`^imported 36 records into ${datasetId} `));
    }
    const [csv] = samples.imports;
    if (csv?.format !== 'csv') throw new Error('the first sample file is CSV');
    const again = await cli('datasets', 'import', csv.datasetId, csv.file, '--dir', dir, '--id-field', 'id');
    expect(again.out).toContain('imported 0 records');
    expect(again.out).toContain('36 unchanged');
    expect(await recordCount(csv.datasetId)).toBe(36);
  });

  it('prints the bad rows with their lines, exits 1 and imports nothing', async () => {
    const datasetId = 'jjj/tianjin/transport-commission/bus-stops';
    const before = await recordCount(datasetId);
    const file = join(dir, 'stops.csv');
    writeFileSync(
      file,
      [
        'id,regionCode,name,lat,lon,routes,sheltered,accessible',
        'stop-9001,120101,Good stop,39.1,117.2,3,true,false',
        'stop-9002,120101,Bad routes,39.1,117.2,three,true,',
        'stop-9003,120101,No shelter info,39.1,117.2,3,,',
      ].join('\n'),
    );
    const r = await cli('datasets', 'import', datasetId, file, '--dir', dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${file}:3: column "routes": "three" is not an integer [SCHEMA_VIOLATION]`);
    expect(r.err).toContain(`${file}:4: missing required property "sheltered" [SCHEMA_VIOLATION]`);
    expect(r.err).toMatch(/citymesh: 2 of 3 rows of .* are bad; nothing was imported into .* \[SCHEMA_VIOLATION\]\n$/);
    expect(await recordCount(datasetId)).toBe(before);
  });

  it('refuses a manifest for another city and a file of unknown format', async () => {
    const other = join(dir, 'beijing.json');
    writeFileSync(other, JSON.stringify({ manifestVersion: 1, cluster: 'jjj', city: 'beijing', datasets: [] }));
    const wrongCity = await cli('catalog', 'publish', other, '--dir', dir);
    expect(wrongCity.code).toBe(1);
    expect(wrongCity.err).toContain('this node serves jjj/tianjin');
    expect(wrongCity.err).toMatch(/\[MANIFEST_INVALID\]\n$/);
    const unknown = await cli(
      'datasets',
      'import',
      'jjj/tianjin/transport-commission/bus-stops',
      join(dir, 'rows.txt'),
      '--dir',
      dir,
    );
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('use .csv, .ndjson or .jsonl');
    const badFormat = await cli(
      'datasets',
      'import',
      'jjj/tianjin/transport-commission/bus-stops',
      'x.csv',
      '--dir',
      dir,
      '--format',
      'xml',
    );
    expect(badFormat.code).toBe(2);
  });
});
