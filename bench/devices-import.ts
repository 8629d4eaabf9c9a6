import { join } from 'node:path';
import Database from 'better-sqlite3';
import { systemClock } from '../common/clock.js';
import {
  cityDeviceChecker,
  DEFAULT_IMPORT_BATCH,
  DeviceFault,
  importDevices,
  ndjsonEntries,
  writeSyntheticManifest,
} from '../nodes/devices/index.js';
import { openSqliteStores } from '../stores/index.js';
import { PAGE_CACHE_KIB } from '../stores/sqlite/database.js';
import { type BenchContext, type BenchSuite, benchResult } from './result.js';

const CITY = 'tianjin';
const COLUMNS =
  'city, device_id, type, industry, region_code, owner_org, status, credentials, attributes, created_at, updated_at';

/** Wall and CPU seconds (all threads of the process) of a timed section. */
interface Timing {
  readonly seconds: number;
  readonly cpuSeconds: number;
}

function startTiming(): () => Timing {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return { seconds: (performance.now() - wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
  };
}

/** What the real importer takes over the manifest into a fresh SQLite node store. */
async function importTiming(dbPath: string, manifest: string): Promise<Timing> {
  const stores = openSqliteStores(dbPath);
  try {
    const stop = startTiming();
    const report = await importDevices(
      { store: stores.devices, checker: cityDeviceChecker(CITY), clock: systemClock },
      { file: manifest },
    );
    const timing = stop();
    if (report.rejected !== 0 || report.inserted !== report.totalLines) {
      throw new Error(`the synthetic manifest did not import cleanly: ${JSON.stringify({ ...report, rejects: [] })}`);
    }
    return timing;
  } finally {
    await stores.close();
  }
}

/**
 * The baseline: the rows the importer stored, read back a batch at a time (untimed) and
 * inserted with one raw prepared statement into the same schema (the store's migrations,
 * so the same indexes and CHECK constraints), with the store's pragmas, in transactions
 * of the importer's size. Only the inserts and commits are timed.
 */
async function rawInsertTiming(sourcePath: string, dbPath: string, batch: number): Promise<Timing> {
  await openSqliteStores(dbPath).close();
  const source = new Database(sourcePath, { readonly: true });
  const db = new Database(dbPath);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`cache_size = ${-PAGE_CACHE_KIB}`);
    const read = source.prepare(`SELECT rowid, ${COLUMNS} FROM devices WHERE rowid > ? ORDER BY rowid LIMIT ?`).raw();
    const insert = db.prepare(`INSERT INTO devices (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const commit = db.transaction((rows: readonly unknown[][]) => {
      for (const row of rows) insert.run(row.slice(1));
    });
    let seconds = 0;
    let cpuSeconds = 0;
    let after = 0;
    for (;;) {
      const rows = read.all(after, batch) as unknown[][];
      if (rows.length === 0) break;
      after = rows[rows.length - 1]?.[0] as number;
      const stop = startTiming();
      commit.immediate(rows);
      const timing = stop();
      seconds += timing.seconds;
      cpuSeconds += timing.cpuSeconds;
    }
    return { seconds, cpuSeconds };
  } finally {
    db.close();
    source.close();
  }
}

/** Microseconds per line of reading, JSON parsing and checking alone: the importer's own share. */
async function checkMicros(manifest: string, lines: number): Promise<number> {
  const checker = cityDeviceChecker(CITY);
  const at = new Date();
  let bad = 0;
  const started = performance.now();
  for await (const chunk of ndjsonEntries(manifest)) {
    for (const entry of chunk) if ((entry.fault ?? checker.check(entry.value, at)) instanceof DeviceFault) bad++;
  }
  if (bad > 0) throw new Error(`${bad} synthetic lines failed their checks`);
  return ((performance.now() - started) * 1000) / lines;
}

/**
 * `devices.import.1m`: seconds to import a manifest of 1M valid devices (100k with
 * `--quick`) with the real importer (hash and count pass, streaming parse and checks in
 * its worker thread, batches with their checkpoint) into a fresh SQLite store, against `sqlite.insert.raw`,
 * the same rows inserted raw into the same schema in the same run. Goals: at most 30 s,
 * and at most 10× the raw insert.
 */
export const devicesImportSuite: BenchSuite = {
  name: 'devices.import',
  async run(context: BenchContext) {
    const total = context.quick ? 100_000 : 1_000_000;
    const at = (name: string) => join(context.workDir, name);
    // Warm up the JIT and the file system on a small run of each first.
    writeSyntheticManifest(at('devices-warmup.ndjson'), { city: CITY, devices: 10_000, idPrefix: 'warm-' });
    await importTiming(at('devices-warmup.db'), at('devices-warmup.ndjson'));
    await rawInsertTiming(at('devices-warmup.db'), at('devices-raw-warmup.db'), DEFAULT_IMPORT_BATCH);

    context.progress(`devices: writing a manifest of ${total} devices`);
    const manifest = at('devices.ndjson');
    writeSyntheticManifest(manifest, { city: CITY, devices: total });
    context.progress(`devices: importing ${total} devices`);
    const imported = await importTiming(at('devices.db'), manifest);
    const value = imported.seconds;
    context.progress(`devices: baseline, the same ${total} rows inserted raw`);
    const raw = await rawInsertTiming(at('devices.db'), at('devices-raw.db'), DEFAULT_IMPORT_BATCH);
    const baselineValue = raw.seconds;
    const micros = await checkMicros(manifest, total);
    // CPU seconds count both threads of the import: on a loaded machine they say more than wall time.
    context.progress(
      `devices: import ${value.toFixed(2)} s (${Math.round(total / value)}/s, ${imported.cpuSeconds.toFixed(1)} s CPU), raw insert ${baselineValue.toFixed(2)} s (${raw.cpuSeconds.toFixed(1)} s CPU), read+parse+check alone ${micros.toFixed(2)} µs/line`,
    );
    const result = benchResult({
      name: 'devices.import.1m',
      value,
      unit: 's',
      baseline: 'sqlite.insert.raw',
      baselineValue,
      goal: { on: 'value', op: '<=', target: 30 },
    });
    return [{ ...result, goal: 'value <= 30 and ratio <= 10', goalMet: result.goalMet === true && result.ratio <= 10 }];
  },
};
