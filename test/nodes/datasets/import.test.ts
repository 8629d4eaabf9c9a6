import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Clock, ManualClock } from '../../../common/clock.js';
import type { CatalogEntry } from '../../../common/stores/catalog-store.js';
import type { Stores } from '../../../common/stores/index.js';
import type { JsonObject } from '../../../common/stores/json.js';
import { type ImportOptions, type ImportProgress, importRecords } from '../../../nodes/datasets/index.js';
import { openMemoryStores, openSqliteStores } from '../../../stores/index.js';
import { tempDir } from './support.js';

const NODE = { cluster: 'jjj', city: 'tianjin' };
const DATASET = 'jjj/tianjin/health-commission/clinics';

const SCHEMA: JsonObject = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string', minLength: 1 },
    beds: { type: 'integer', minimum: 0 },
    rating: { type: 'number' },
    open24h: { type: 'boolean' },
    services: { type: 'array', items: { type: 'string' } },
    note: { type: ['integer', 'string'] },
    updatedAt: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'name', 'beds'],
  additionalProperties: false,
};

function entry(
  version: string,
  schema: JsonObject,
  id = DATASET,
  kind: CatalogEntry['kind'] = 'dataset',
): CatalogEntry {
  return {
    id,
    version,
    kind,
    title: 'Clinics',
    description: '',
    ownerOrg: 'health-commission',
    city: 'tianjin',
    industry: 'health',
    regionCode: '120000',
    level: 'province',
    classification: 'internal',
    schema,
    license: 'CC-BY-4.0',
    requiresAgreement: false,
    publishedAt: new Date(0),
  };
}

const lines = (...rows: string[]) => Readable.from([rows.join('\n')]);
const ndjson = (...records: object[]) => Readable.from(records.map((r) => `${JSON.stringify(r)}\n`));

describe.each([
  ['memory', () => openMemoryStores()],
  ['sqlite', () => openSqliteStores(join(tempDir(), 'node.db'))],
])('importRecords on the %s store', (_kind, open) => {
  let stores: Stores;
  let clock: Clock;
  const run = (options: Partial<ImportOptions> & Pick<ImportOptions, 'source'>) =>
    importRecords(
      { catalog: stores.catalog, records: stores.records, clock },
      { node: NODE, datasetId: DATASET, format: 'csv', ...options },
    );
  const stored = async () => (await stores.records.page(DATASET)).items.map((r) => JSON.parse(r.json) as JsonObject);

  beforeEach(async () => {
    stores = open();
    clock = new ManualClock();
    await stores.catalog.put(entry('1.0.0', SCHEMA));
  });
  afterEach(async () => stores.close());

  it('converts CSV cells to the types the schema gives their columns, leaving empty cells out', async () => {
    const report = await run({
      source: lines(
        'id,name,beds,rating,open24h,services,note,updatedAt',
        'c1,North clinic,12,4.5,true,"[""x-ray"",""lab""]",7,2025-01-06T08:00:00Z',
        'c2,"South, old town",0,-0.25,FALSE,,late,',
        'c3,East,3,1e2,,,,',
      ),
    });
    expect(report).toMatchObject({ imported: true, rows: 3, accepted: 3, rejected: 0, badRows: [] });
    expect(await stored()).toEqual([
      {
        id: 'c1',
        name: 'North clinic',
        beds: 12,
        rating: 4.5,
        open24h: true,
        services: ['x-ray', 'lab'],
        note: 7,
        updatedAt: '2025-01-06T08:00:00Z',
      },
      { id: 'c2', name: 'South, old town', beds: 0, rating: -0.25, open24h: false, note: 'late' },
      { id: 'c3', name: 'East', beds: 3, rating: 100 },
    ]);
  });

  it('reports every bad row by line and reason and writes nothing', async () => {
    const report = await run({
      source: Readable.from([
        [
          'id,name,beds,rating', // line 1
          'c1,Good,1,2', // 2
          '', // 3: blank
          'c2,Beds,many,2', // 4
          'c3,"two', // 5: a quoted cell across two lines
          'lines",1,x', // 6
          'c4,,1,2', // 7: required name left empty
          'c5,Short,1', // 8: a cell missing
          'c6,Neg,-1,2', // 9
        ].join('\r\n'),
      ]),
    });
    expect(report.imported).toBe(false);
    expect(report.accepted).toBe(0);
    expect(report.rows).toBe(6);
    expect(report.rejected).toBe(5);
    expect(report.badRows.map((b) => [b.line, b.reason])).toEqual([
      [4, 'SCHEMA_VIOLATION'],
      [5, 'SCHEMA_VIOLATION'],
      [7, 'SCHEMA_VIOLATION'],
      [8, 'MALFORMED_REQUEST'],
      [9, 'SCHEMA_VIOLATION'],
    ]);
    expect(report.badRows[0]?.message).toContain('column "beds": "many" is not an integer');
    expect(report.badRows[1]?.message).toContain('column "rating"');
    expect(report.badRows[2]?.message).toContain('missing required property "name"');
    expect(report.badRows[3]?.message).toContain('has 3 cell(s), the header has 4');
    expect(report.badRows[4]?.message).toMatch(/\/beds: must be >= 0/);
    expect(await stores.records.count(DATASET)).toBe(0);
  });

  it('reports NDJSON lines that are not JSON objects, counting blank lines', async () => {
    const report = await run({
      format: 'ndjson',
      source: lines(
        '{"id":"a","name":"A","beds":1}',
        '',
        '{"id":"b",',
        '[1,2]',
        '{"id":"c","name":"C","beds":1,"x":1}',
      ),
    });
    expect(report.badRows).toEqual([
      { line: 3, reason: 'MALFORMED_REQUEST', message: expect.stringContaining('not JSON') },
      { line: 4, reason: 'MALFORMED_REQUEST', message: 'must be a JSON object' },
      { line: 5, reason: 'SCHEMA_VIOLATION', message: 'unknown property "x"' },
    ]);
    expect(await stores.records.count(DATASET)).toBe(0);
  });

  it('writes nothing when one row of many is bad, and everything once it is fixed', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => ({ id: `c${i}`, name: `Clinic ${i}`, beds: i }));
    const broken = rows.map((r, i) => (i === 321 ? { ...r, beds: 'n/a' } : r));
    const failed = await run({ format: 'ndjson', source: ndjson(...broken) });
    expect(failed.badRows.map((b) => b.line)).toEqual([322]);
    expect(await stores.records.count(DATASET)).toBe(0);
    const fixed = await run({ format: 'ndjson', source: ndjson(...rows) });
    expect(fixed).toMatchObject({ imported: true, accepted: 500, firstSequence: 1, lastSequence: 500 });
    expect(await stores.records.count(DATASET)).toBe(500);
  });

  it('re-imports idempotently by record id and adds only new rows', async () => {
    const first = [
      { id: 'c1', name: 'One', beds: 1 },
      { id: 'c2', name: 'Two', beds: 2 },
    ];
    expect(await run({ format: 'ndjson', idField: 'id', source: ndjson(...first) })).toMatchObject({ accepted: 2 });
    const again = await run({ format: 'ndjson', idField: 'id', source: ndjson(...first) });
    expect(again).toMatchObject({ imported: true, accepted: 0, unchanged: 2, rejected: 0 });
    // Key order does not make a record different.
    const more = await run({
      format: 'ndjson',
      idField: 'id',
      source: ndjson({ beds: 1, name: 'One', id: 'c1' }, { id: 'c3', name: 'Three', beds: 3 }),
    });
    expect(more).toMatchObject({ accepted: 1, unchanged: 1, firstSequence: 3, lastSequence: 3 });
    const records = (await stores.records.page(DATASET)).items;
    expect(records.map((r) => r.recordId)).toEqual(['c1', 'c2', 'c3']);
  });

  it('refuses a changed record under a stored id, a repeated id and a malformed id, writing nothing', async () => {
    await run({ format: 'ndjson', idField: 'id', source: ndjson({ id: 'c1', name: 'One', beds: 1 }) });
    const report = await run({
      idField: 'id',
      source: lines('id,name,beds', 'c1,One,9', 'c2,Two,2', 'c2,Two again,2', 'c 3,Spaced,1', 'c4,Four,4'),
    });
    expect(report.badRows.map((b) => [b.line, b.reason])).toEqual([
      [2, 'ALREADY_EXISTS'],
      [4, 'ALREADY_EXISTS'],
      [5, 'MALFORMED_REQUEST'],
    ]);
    expect(report.badRows[0]?.message).toContain('already stored with different content');
    expect(report.badRows[1]?.message).toContain('already appears on line 3');
    expect(report.badRows[2]?.message).toContain('record id field "id" must be 1-128 characters');
    expect(await stores.records.count(DATASET)).toBe(1);
  });

  it('lists at most maxBadRows bad rows but counts them all', async () => {
    const bad = Array.from({ length: 50 }, (_, i) => ({ id: `c${i}`, name: '', beds: 1 }));
    const report = await run({ format: 'ndjson', maxBadRows: 10, source: ndjson(...bad) });
    expect(report.rejected).toBe(50);
    expect(report.badRows.map((b) => b.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('reports progress in rows per second while it reads', async () => {
    let ms = 0;
    clock = { now: () => new Date(ms), nowMs: () => (ms += 5), nowSeconds: () => Math.floor(ms / 1000) };
    const seen: ImportProgress[] = [];
    const rows = Array.from({ length: 250 }, (_, i) => ({ id: `c${i}`, name: 'x', beds: i }));
    await run({ format: 'ndjson', progressEveryRows: 100, onProgress: (p) => seen.push(p), source: ndjson(...rows) });
    expect(seen.map((p) => [p.rows, p.done])).toEqual([
      [100, false],
      [200, false],
      [250, true],
    ]);
    for (const p of seen) expect(p.rowsPerSecond).toBe(Math.round((p.rows * 1000) / p.elapsedMs));
  });

  it("checks rows against the requested version's schema and stores them under the dataset id", async () => {
    await stores.catalog.put(entry('2.0.0', { ...SCHEMA, required: ['id', 'name', 'beds', 'rating'] }));
    const row = '{"id":"c1","name":"One","beds":1}';
    const latest = await run({ format: 'ndjson', source: lines(row) });
    expect(latest.version).toBe('2.0.0');
    expect(latest.badRows[0]?.message).toContain('missing required property "rating"');
    const old = await run({ format: 'ndjson', datasetId: `${DATASET}@1.0.0`, source: lines(row) });
    expect(old).toMatchObject({ imported: true, version: '1.0.0', datasetId: DATASET, accepted: 1 });
    expect(await stores.records.count(DATASET)).toBe(1);
  });

  it('refuses datasets it cannot import into', async () => {
    const source = () => lines('id,name,beds');
    await expect(run({ datasetId: 'jjj/beijing/health-commission/clinics', source: source() })).rejects.toMatchObject({
      code: 'MALFORMED_REQUEST',
      message: expect.stringContaining('belongs to jjj/beijing'),
    });
    await expect(run({ datasetId: 'jjj/tianjin/health-commission/nothing', source: source() })).rejects.toMatchObject({
      code: 'DATASET_NOT_FOUND',
    });
    const capability = 'jjj/tianjin/health-commission/lookup';
    await stores.catalog.put(entry('1.0.0', SCHEMA, capability, 'capability'));
    await expect(run({ datasetId: capability, source: source() })).rejects.toMatchObject({
      code: 'DATASET_NOT_FOUND',
      message: expect.stringContaining('is a capability'),
    });
    await expect(run({ source: lines('id,name,id') })).rejects.toMatchObject({
      code: 'MALFORMED_REQUEST',
      message: 'CSV header: column "id" appears twice',
    });
  });
});
