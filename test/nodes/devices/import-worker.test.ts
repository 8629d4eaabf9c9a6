import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as ClockModule from '../../../common/clock.js';
import type { DeviceStore } from '../../../common/stores/device-store.js';
import type * as DevicesModule from '../../../nodes/devices/index.js';
import type * as StoresModule from '../../../stores/index.js';

/*
 * The import's worker thread runs compiled code only (from TypeScript sources the lines are
 * checked on the main thread), so this suite imports the importer from dist/: the same
 * manifests must give the same reports, rejects and devices with and without the worker.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'citymesh-import-worker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let devices: typeof DevicesModule;
let stores: typeof StoresModule;
let clock: typeof ClockModule;

/**
 * Compiles when dist is older than a source of the import (tsc still emits past others'
 * type errors). Only the import's own folders: tsc leaves an output untouched when its
 * text would not change, so an unrelated file touched elsewhere would recompile every run.
 */
function ensureCompiled(): void {
  const sources = (d: string): string[] =>
    readdirSync(join(root, d), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : [],
    );
  const shared = ['stores/shared/device-rules.ts', 'common/content-key.ts', 'common/stores/packed-devices.ts'];
  const stale = [...['nodes/devices', 'stores/sqlite'].flatMap(sources), ...shared].some((src) => {
    const out = join(root, 'dist', src.replace(/\.ts$/, '.js'));
    return !existsSync(out) || statSync(out).mtimeMs < statSync(join(root, src)).mtimeMs;
  });
  if (stale) spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'ignore' });
}

const compiled = <T>(path: string): Promise<T> => import(pathToFileURL(join(root, 'dist', path)).href) as Promise<T>;

beforeAll(async () => {
  ensureCompiled();
  devices = await compiled('nodes/devices/index.js');
  stores = await compiled('stores/index.js');
  clock = await compiled('common/clock.js');
}, 180_000);

let files = 0;
function manifest(lines: readonly unknown[], ext = 'ndjson'): string {
  const path = join(dir, `m${++files}.${ext}`);
  writeFileSync(path, `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`);
  return path;
}

async function allDevices(store: DeviceStore) {
  const out = [];
  let pageToken: string | undefined;
  do {
    const page = await store.list({ city: 'tianjin' }, { pageSize: 1000, ...(pageToken ? { pageToken } : {}) });
    out.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
  return out;
}

/** Imports into a fresh SQLite store; returns the report without timings, the stored devices and the threads started. */
async function importInto(
  file: string,
  worker: boolean,
  wrap: (store: DeviceStore) => DeviceStore = (s) => s,
  batchSize = 7,
) {
  const opened = stores.openSqliteStores(join(dir, `s${++files}.db`));
  const threads: Worker[] = [];
  const started = (w: Worker) => threads.push(w);
  process.on('worker', started);
  try {
    const run = devices.importDevices(
      {
        store: wrap(opened.devices),
        checker: devices.cityDeviceChecker('tianjin'),
        clock: new clock.ManualClock(),
      },
      { file, worker, batchSize, jobId: 'job' },
    );
    const outcome = await run.then(
      ({ elapsedMs: _e, ...report }) => ({ report, error: undefined }),
      (error: { code?: string; message: string }) => ({ report: undefined, error }),
    );
    const stored = await allDevices(opened.devices);
    const checkpoint = await opened.devices.getImportCheckpoint('job');
    return { ...outcome, stored, checkpoint, threads };
  } finally {
    process.off('worker', started);
    await opened.close();
  }
}

describe('device import with a worker thread (compiled)', () => {
  const device = () => devices.syntheticDevices({ city: 'tianjin', devices: 0 });

  it('gives the same report, rejects and devices as the import on one thread', async () => {
    const d = device();
    const lines = [
      ...Array.from({ length: 30 }, (_, i) => d(i)),
      '{not json',
      { ...d(40), regionCode: '110105' },
      '',
      d(3), // the same device again: closes a batch, counts as unchanged
      { ...d(4), ownerOrg: 'someone-else' }, // a conflict, pinned to its line
      ...Array.from({ length: 20 }, (_, i) => d(50 + i)),
    ];
    const file = manifest(lines);
    const threaded = await importInto(file, true);
    const single = await importInto(file, false);
    expect(threaded.threads).toHaveLength(1);
    expect(single.threads).toHaveLength(0);
    expect(threaded.error).toBeUndefined();
    expect(threaded.report).toMatchObject({ inserted: 50, unchanged: 1, rejected: 3, linesDone: lines.length });
    expect(threaded.report?.rejects.map((r) => [r.line, r.code])).toEqual([
      [31, 'MALFORMED_REQUEST'],
      [32, 'DEVICE_WRONG_CITY'],
      [35, 'ALREADY_EXISTS'],
    ]);
    expect(threaded.report).toEqual(single.report);
    expect(threaded.stored).toEqual(single.stored);
  });

  it('imports CSV with quoted line breaks the same way', async () => {
    const d = device();
    const rows = Array.from({ length: 12 }, (_, i) => devices.csvLineOf(d(i)));
    rows.splice(5, 0, `x1,${d(0).type},${d(0).industry},120101,office,,,,,"two\nlines"`, 'too,few');
    const file = manifest([devices.SYNTHETIC_CSV_HEADER, ...rows], 'csv');
    const threaded = await importInto(file, true);
    const single = await importInto(file, false);
    expect(threaded.threads).toHaveLength(1);
    expect(threaded.report).toMatchObject({ inserted: 13, rejected: 1, linesDone: 16 });
    expect(threaded.report?.rejects.map((r) => r.line)).toEqual([9]);
    expect(threaded.report).toEqual(single.report);
    expect(threaded.stored).toEqual(single.stored);
  });

  it('reports broken CSV found by the worker as MALFORMED_REQUEST, the batches before it kept', async () => {
    const d = device();
    // Past the first megabyte read, so the parser has handed over records before it fails.
    const rows = Array.from({ length: 4000 }, (_, i) => devices.csvLineOf(d(i)));
    const file = manifest([devices.SYNTHETIC_CSV_HEADER, ...rows, 'a,"never closed'], 'csv');
    const threaded = await importInto(file, true, (store) => store, 1000);
    expect(threaded.threads).toHaveLength(1);
    expect(threaded.error).toMatchObject({ code: 'MALFORMED_REQUEST', message: expect.stringContaining('CSV syntax') });
    expect(threaded.stored.length).toBeGreaterThan(0);
    expect(threaded.stored.length + 1).toBe(threaded.checkpoint?.linesDone);
    const header = manifest(['deviceId,colour', 'a,red'], 'csv');
    expect((await importInto(header, true)).error).toMatchObject({
      code: 'MALFORMED_REQUEST',
      message: expect.stringContaining('unknown column "colour"'),
    });
  });

  it('stops the worker when a write fails, and a resume completes the job exactly', async () => {
    const d = device();
    const file = manifest(Array.from({ length: 60 }, (_, i) => d(i)));
    let calls = 0;
    const failing = (store: DeviceStore) =>
      new Proxy(store, {
        get: (target, name) => {
          const member = Reflect.get(target, name, target);
          if (typeof member !== 'function') return member;
          const bound = member.bind(target);
          if (name !== 'importCheckedBatch') return bound;
          return async (...args: unknown[]) => {
            if (++calls === 3) throw new Error('disk full');
            return bound(...args);
          };
        },
      });
    const db = join(dir, 'resume.db');
    const opened = () => stores.openSqliteStores(db);
    const threads: Worker[] = [];
    const started = (w: Worker) => threads.push(w);
    process.on('worker', started);
    const first = opened();
    const options = { file, jobId: 'resume', batchSize: 7 };
    const deps = (store: DeviceStore) => ({
      store,
      checker: devices.cityDeviceChecker('tianjin'),
      clock: new clock.ManualClock(),
    });
    await expect(devices.importDevices(deps(failing(first.devices)), options)).rejects.toThrow('disk full');
    process.off('worker', started);
    // The worker was stopped before the failure reached the caller.
    expect(threads.map((w) => w.threadId)).toEqual([-1]);
    expect((await first.devices.getImportCheckpoint('resume'))?.linesDone).toBe(14);
    const resumed = await devices.importDevices(deps(first.devices), options);
    expect(resumed).toMatchObject({ resumedFromLine: 14, inserted: 60, unchanged: 0, rejected: 0, linesDone: 60 });
    expect(await first.devices.count({ city: 'tianjin' })).toBe(60);
    await first.close();
  });
});
