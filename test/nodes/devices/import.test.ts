import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../common/clock.js';
import type { DeviceStore } from '../../../common/stores/device-store.js';
import type { Stores } from '../../../common/stores/index.js';
import {
  cityDeviceChecker,
  csvLineOf,
  type DeviceImportOptions,
  importDevices,
  SYNTHETIC_CSV_HEADER,
  syntheticDevices,
} from '../../../nodes/devices/index.js';
import { openMemoryStores, openSqliteStores } from '../../../stores/index.js';

const root = mkdtempSync(join(tmpdir(), 'citymesh-device-import-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let files = 0;
const device = syntheticDevices({ city: 'tianjin', devices: 0 });

function manifest(lines: readonly unknown[], ext = 'ndjson'): string {
  const path = join(root, `m${++files}.${ext}`);
  writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return path;
}

const run = (store: DeviceStore, options: DeviceImportOptions) =>
  importDevices({ store, checker: cityDeviceChecker('tianjin'), clock: new ManualClock() }, options);

/** A manifest of every kind of bad line, and duplicates, with the line each lands on. */
const MIXED = [
  device(0), // 1
  '{not json', // 2
  { ...device(1), type: 'flux-capacitor' }, // 3 unknown type
  { ...device(2), industry: 'health' }, // 4 its type is not a health type
  { ...device(3), regionCode: '110105' }, // 5 Beijing
  {
    ...device(4),
    credentials: [{ ...(device(4).credentials as object[])[0], publicJwk: { kty: 'OKP', crv: 'Ed25519', x: 'short' } }],
  }, // 6
  '', // 7 blank
  device(5), // 8
  device(0), // 9 the same device again
  { ...device(5), ownerOrg: 'someone-else' }, // 10 same id, other content
  [1, 2], // 11
];

describe.each([
  ['SQLite', () => openSqliteStores(join(root, `s${++files}.db`))],
  ['memory', () => openMemoryStores()],
])('device import into the %s store', (_kind, open: () => Stores) => {
  it('imports good lines and lists bad ones with line number, field and reason', async () => {
    const stores = open();
    const report = await run(stores.devices, { file: manifest(MIXED) });
    expect(report).toMatchObject({ totalLines: 11, linesDone: 11, inserted: 2, unchanged: 1, rejected: 7 });
    expect(report).toMatchObject({ invalid: 6, conflicts: 1, resumedFromLine: 0 });
    expect(report.rejects.map((r) => [r.line, r.field, r.code])).toEqual([
      [2, '', 'MALFORMED_REQUEST'],
      [3, 'type', 'INVALID_IDENTIFIER'],
      [4, 'type', 'INVALID_IDENTIFIER'],
      [5, 'regionCode', 'DEVICE_WRONG_CITY'],
      [6, 'credentials[0].publicJwk.x', 'MALFORMED_REQUEST'],
      [10, 'deviceId', 'ALREADY_EXISTS'],
      [11, '', 'MALFORMED_REQUEST'],
    ]);
    expect(report.rejects[5]?.message).toContain('differs in: ownerOrg');
    expect(report.rejects[2]?.deviceId).toBe('dev-0000002');
    expect(await stores.devices.count({ city: 'tianjin' })).toBe(2);
    expect((await stores.devices.get('tianjin', 'dev-0000005'))?.ownerOrg).toBe(device(5).ownerOrg);
  });

  it('runs a completed job again as a new pass: nothing imported twice, every device unchanged', async () => {
    const stores = open();
    const file = manifest(MIXED);
    await run(stores.devices, { file });
    const again = await run(stores.devices, { file });
    expect(again.previousRun).toMatchObject({ linesDone: 11, inserted: 2, unchanged: 1, rejected: 7 });
    expect(again).toMatchObject({ inserted: 0, unchanged: 3, rejected: 7, linesDone: 11 });
    expect(await stores.devices.count({ city: 'tianjin' })).toBe(2);
  });

  it('gives the same counts and devices whatever the batch size', async () => {
    const lines = [...MIXED, ...Array.from({ length: 40 }, (_, i) => device(i % 25))];
    const outcomes = [];
    for (const batchSize of [1, 3, 7, 1000]) {
      const stores = open();
      const { inserted, unchanged, rejected, linesDone } = await run(stores.devices, {
        file: manifest(lines),
        batchSize,
      });
      outcomes.push({
        inserted,
        unchanged,
        rejected,
        linesDone,
        stored: await stores.devices.count({ city: 'tianjin' }),
      });
    }
    expect(new Set(outcomes.map((o) => JSON.stringify(o))).size).toBe(1);
    expect(outcomes[0]).toEqual({ inserted: 25, unchanged: 18, rejected: 7, linesDone: 51, stored: 25 });
  });

  it.each(['ndjson', 'csv'])(
    'resumes %s after a crash with exact totals, listing only the lines not done',
    async (format) => {
      const stores = open();
      // 600 devices, every 50th invalid: 588 devices and 12 bad lines. CSV has a header line first.
      const head = format === 'csv' ? 1 : 0;
      const described = Array.from({ length: 600 }, (_, i) =>
        (i + 1) % 50 === 0 ? { ...device(i), regionCode: 'x' } : device(i),
      );
      const file =
        format === 'csv' ? manifest([SYNTHETIC_CSV_HEADER, ...described.map(csvLineOf)], 'csv') : manifest(described);
      const bad = described.flatMap((d, i) => (d.regionCode === 'x' ? [i + 1 + head] : []));
      for (const dieAfterCommit of [false, true]) {
        let calls = 0;
        const crashOnThird =
          (write: (...args: unknown[]) => Promise<unknown>) =>
          async (...args: unknown[]) => {
            if (++calls === 3 && !dieAfterCommit) throw new Error('killed before the commit');
            const result = await write(...args);
            if (calls === 3) throw new Error('killed after the commit');
            return result;
          };
        const crashing = new Proxy(stores.devices, {
          get: (target, name) => {
            const member = Reflect.get(target, name, target);
            if (typeof member !== 'function') return member;
            const bound = member.bind(target);
            // Both batch writes: the public one, and the checked path the importer takes into SQLite.
            return name === 'importBatch' || name === 'importCheckedBatch' ? crashOnThird(bound) : bound;
          },
        });
        const jobId = `crash-${format}-${dieAfterCommit}`;
        await expect(run(crashing, { file, jobId, batchSize: 100 })).rejects.toThrow(/killed/);
        const checkpoint = await stores.devices.getImportCheckpoint(jobId);
        expect(checkpoint?.linesDone).toBe((dieAfterCommit ? 300 : 200) + head);
        const resumed = await run(stores.devices, { file, jobId, batchSize: 100 });
        expect(resumed.resumedFromLine).toBe(checkpoint?.linesDone);
        expect(resumed.rejects.map((r) => r.line)).toEqual(bad.filter((l) => l > (checkpoint?.linesDone ?? 0)));
        const counted = resumed.inserted + resumed.unchanged;
        expect({ counted, rejected: resumed.rejected, linesDone: resumed.linesDone }).toEqual({
          counted: 588,
          rejected: 12,
          linesDone: 600 + head,
        });
      }
      // The first job inserted them all; the second found them all unchanged.
      const jobs = [`crash-${format}-false`, `crash-${format}-true`];
      expect(await stores.devices.getImportCheckpoint(jobs[0] ?? '')).toMatchObject({ inserted: 588, unchanged: 0 });
      expect(await stores.devices.getImportCheckpoint(jobs[1] ?? '')).toMatchObject({ inserted: 0, unchanged: 588 });
      expect(await stores.devices.count({ city: 'tianjin' })).toBe(588);
    },
  );

  it('refuses another file under a job id already used', async () => {
    const stores = open();
    await run(stores.devices, { file: manifest([device(0)]), jobId: 'j' });
    await expect(run(stores.devices, { file: manifest([device(1)]), jobId: 'j' })).rejects.toMatchObject({
      code: 'MALFORMED_REQUEST',
      message: expect.stringContaining('pass another --job'),
    });
  });
});

describe('NDJSON text', () => {
  it('decodes a character split across two reads, and the ASCII-only reads around it, exactly', async () => {
    // A megabyte is read at a time: ASCII lines, then blank padding that puts the
    // three bytes of 北 across the first boundary, then more ASCII lines.
    const boundary = 1 << 20;
    const note = '北京 天津';
    const lines: string[] = [];
    let bytes = 0;
    const add = (line: string) => {
      lines.push(line);
      bytes += Buffer.byteLength(line) + 1;
    };
    let i = 0;
    while (bytes + 1200 < boundary) add(JSON.stringify(device(i++)));
    const crossing = JSON.stringify({ ...device(i++), attributes: { note } });
    const offset = Buffer.byteLength(crossing.slice(0, crossing.indexOf('北')));
    add(' '.repeat(boundary - 1 - offset - bytes - 1));
    add(crossing);
    while (bytes < 2.5 * boundary) add(JSON.stringify(device(i++)));
    const stores = openMemoryStores();
    const report = await run(stores.devices, { file: manifest(lines) });
    expect(report).toMatchObject({ inserted: i, rejected: 0, linesDone: lines.length });
    const stored = await stores.devices.get('tianjin', (JSON.parse(crossing) as { deviceId: string }).deviceId);
    expect(stored?.attributes).toEqual({ note });
  });
});

describe('CSV manifests', () => {
  const csv = (rows: readonly string[]) => manifest(rows, 'csv');

  it('imports the same devices as NDJSON, with one credential and attribute columns', async () => {
    const stores = openMemoryStores();
    const rows = Array.from({ length: 30 }, (_, i) => csvLineOf(device(i)));
    const report = await run(stores.devices, { file: csv([SYNTHETIC_CSV_HEADER, ...rows]) });
    expect(report).toMatchObject({ format: 'csv', inserted: 30, rejected: 0, linesDone: 31 });
    const viaNdjson = openMemoryStores();
    await run(viaNdjson.devices, { file: manifest(Array.from({ length: 30 }, (_, i) => device(i))) });
    for (const id of ['dev-0000000', 'dev-0000013']) {
      const { createdAt: _a, updatedAt: _b, ...fromCsv } = (await stores.devices.get('tianjin', id)) ?? {};
      const { createdAt: _c, updatedAt: _d, ...fromJson } = (await viaNdjson.devices.get('tianjin', id)) ?? {};
      expect(fromCsv).toEqual(fromJson);
    }
  });

  it('numbers lines across quoted line breaks and lists bad rows', async () => {
    const stores = openMemoryStores();
    const header = 'deviceId,type,industry,regionCode,ownerOrg,attributes.note';
    const d = device(0);
    const row = (id: string, region: string, note: string) => `${id},${d.type},${d.industry},${region},office,${note}`;
    const file = csv([
      header,
      row('a1', '120101', '"two\nlines"'),
      row('a2', '110105', 'x'),
      'a3,too,few',
      row('a4', '120102', ''),
    ]);
    const report = await run(stores.devices, { file });
    expect(report.rejects.map((r) => [r.line, r.field])).toEqual([
      [4, 'regionCode'],
      [5, ''],
    ]);
    expect(report).toMatchObject({ inserted: 2, rejected: 2, linesDone: 6 });
    expect((await stores.devices.get('tianjin', 'a1'))?.attributes).toEqual({ note: 'two\nlines' });
    expect((await stores.devices.get('tianjin', 'a4'))?.attributes).toBeUndefined();
  });

  it('refuses a credential missing a column, and a header with an unknown column before reading on', async () => {
    const stores = openMemoryStores();
    const d = device(0);
    const noStart = { ...d, credentials: [{ ...(d.credentials as object[])[0], notBefore: '' }] };
    const partial = await run(stores.devices, { file: csv([SYNTHETIC_CSV_HEADER, csvLineOf(noStart)]) });
    expect(partial.rejects[0]).toMatchObject({ line: 2, field: 'notBefore' });
    const unknown = csv([`${SYNTHETIC_CSV_HEADER},colour`, `${csvLineOf(device(1))},red`]);
    await expect(run(stores.devices, { file: unknown })).rejects.toMatchObject({
      code: 'MALFORMED_REQUEST',
      message: expect.stringContaining('unknown column "colour"'),
    });
    expect(await stores.devices.get('tianjin', 'dev-0000001')).toBeUndefined();
  });
});
