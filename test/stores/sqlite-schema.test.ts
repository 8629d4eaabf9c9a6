import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeviceFilter } from '../../common/stores/device-store.js';
import { checkDeviceFilter } from '../../stores/shared/device-rules.js';
import { openDatabase } from '../../stores/sqlite/database.js';
import { deviceListQuery } from '../../stores/sqlite/device-store.js';
import { openSqliteStores, SCHEMA_VERSION } from '../../stores/sqlite/index.js';
import { MIGRATIONS, migrate } from '../../stores/sqlite/migrations.js';
import { listSql } from '../../stores/sqlite/paging.js';
import { aDevice, genesisChain } from '../compliance/fixtures.js';
import { expectMeshError } from '../compliance/support.js';

const dir = mkdtempSync(join(tmpdir(), 'citymesh-sqlite-schema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const freshPath = () => join(dir, `schema-${++counter}.db`);

describe('SQLite stores: connection and schema', () => {
  it('opens with WAL, full sync, foreign keys and a busy timeout', () => {
    const db = openDatabase(freshPath());
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });

  it('applies every migration once and records it', async () => {
    const path = freshPath();
    await openSqliteStores(path).close();
    await openSqliteStores(path).close();
    const db = new Database(path, { readonly: true });
    try {
      const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
      expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    } finally {
      db.close();
    }
  });

  it('refuses a database written by a newer build, with a clear error, and leaves it untouched', async () => {
    const path = freshPath();
    await openSqliteStores(path).close();
    const raw = new Database(path);
    raw
      .prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)')
      .run(SCHEMA_VERSION + 1, 'from-the-future');
    raw.close();
    const err = await expectMeshError(
      Promise.resolve().then(() => openSqliteStores(path)),
      'STORE_SCHEMA_TOO_NEW',
    );
    expect(err.message).toContain(`version ${SCHEMA_VERSION + 1}, newer than this build supports (${SCHEMA_VERSION})`);
    const after = new Database(path, { readonly: true });
    expect(after.prepare('SELECT max(version) AS v FROM schema_migrations').get()).toEqual({ v: SCHEMA_VERSION + 1 });
    after.close();
  });

  it('refuses a database whose migration history is not this build’s', async () => {
    const path = freshPath();
    await openSqliteStores(path).close();
    const raw = new Database(path);
    raw.prepare("UPDATE schema_migrations SET name = 'someone-else' WHERE version = 2").run();
    raw.close();
    await expectMeshError(
      Promise.resolve().then(() => openSqliteStores(path)),
      'STORE_CORRUPTED',
    );
  });

  it('rolls a failing upgrade back completely', () => {
    const db = openDatabase(freshPath());
    try {
      migrate(db);
      const broken = [
        ...MIGRATIONS,
        { version: SCHEMA_VERSION + 1, name: 'broken', sql: 'CREATE TABLE half_done (x); THIS IS NOT SQL;' },
      ];
      expect(() => migrate(db, broken)).toThrow();
      expect(db.prepare('SELECT max(version) AS v FROM schema_migrations').get()).toEqual({ v: SCHEMA_VERSION });
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").get()).toBeUndefined();
    } finally {
      db.close();
    }
  });

  it('keeps data and page tokens valid across a close and reopen', async () => {
    const path = freshPath();
    const first = openSqliteStores(path);
    await first.devices.importBatch(['a', 'b', 'c'].map((deviceId) => aDevice({ deviceId })));
    const token = (await first.devices.list({ city: 'tianjin' }, { pageSize: 1 })).nextPageToken;
    await first.close();
    const second = openSqliteStores(path);
    try {
      expect(
        (await second.devices.list({ city: 'tianjin' }, { pageToken: token })).items.map((d) => d.deviceId),
      ).toEqual(['b', 'c']);
    } finally {
      await second.close();
    }
  });

  it('refuses page tokens of another database', async () => {
    const a = openSqliteStores(freshPath());
    const b = openSqliteStores(freshPath());
    try {
      for (const s of [a, b]) await s.devices.importBatch(['x', 'y'].map((deviceId) => aDevice({ deviceId })));
      const token = (await a.devices.list({ city: 'tianjin' }, { pageSize: 1 })).nextPageToken;
      await expectMeshError(b.devices.list({ city: 'tianjin' }, { pageToken: token }), 'INVALID_PAGE_TOKEN');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("opens ':memory:' as a private database", async () => {
    const stores = openSqliteStores(':memory:');
    await stores.devices.importBatch([aDevice()]);
    expect(await stores.devices.count({ city: 'tianjin' })).toBe(1);
    await stores.close();
  });

  it('shares one file between two processes’ worth of connections without breaking the chain', async () => {
    const path = freshPath();
    const a = openSqliteStores(path);
    const b = openSqliteStores(path);
    try {
      const chain = genesisChain(4);
      await a.audit.append(chain.slice(0, 2));
      await expectMeshError(b.audit.append(chain.slice(0, 1)), 'AUDIT_CHAIN_BROKEN');
      await b.audit.append(chain.slice(2));
      expect(await a.audit.head()).toEqual({ sequence: 4, hash: chain[3]?.hash });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuses edits and gaps in the audit table even from raw SQL', async () => {
    const path = freshPath();
    const stores = openSqliteStores(path);
    await stores.audit.append(genesisChain(2));
    await stores.close();
    const raw = new Database(path);
    try {
      expect(() => raw.prepare("UPDATE audit_entries SET payload = '{}' WHERE sequence = 1").run()).toThrow(
        /append-only/,
      );
      expect(() => raw.prepare('DELETE FROM audit_entries WHERE sequence = 2').run()).toThrow(/append-only/);
      const [, , third] = genesisChain(3);
      expect(() =>
        raw
          .prepare(
            'INSERT INTO audit_entries (sequence, at, kind, actor, payload, prev_hash, hash) VALUES (?, 0, ?, ?, ?, ?, ?)',
          )
          .run(5, third?.kind, third?.actor, third?.payload, third?.prevHash, third?.hash),
      ).toThrow(/audit chain broken/);
    } finally {
      raw.close();
    }
  });

  it('drops the unused correlation index of audit entries on upgrade, keeping entries and the chain trigger', async () => {
    const path = freshPath();
    const before = openDatabase(path);
    const upTo = MIGRATIONS.findIndex((m) => m.name === 'audit-drop-correlation-index');
    expect(upTo).toBeGreaterThan(0);
    migrate(before, MIGRATIONS.slice(0, upTo));
    const index = "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'audit_entries_by_correlation'";
    expect(before.prepare(index).get()).toBeDefined();
    before.close();
    const chain = genesisChain(3);
    const stores = openSqliteStores(path);
    try {
      await stores.audit.append(chain.slice(0, 2));
      await expectMeshError(stores.audit.append(chain.slice(0, 1)), 'AUDIT_CHAIN_BROKEN');
      await stores.audit.append(chain.slice(2));
      expect(await stores.audit.range(1, 10)).toEqual(chain);
    } finally {
      await stores.close();
    }
    const raw = new Database(path);
    try {
      expect(raw.prepare(index).get()).toBeUndefined();
      const triggers = raw
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_entries' ORDER BY name")
        .pluck()
        .all();
      expect(triggers).toEqual(['audit_entries_contiguous', 'audit_entries_no_delete', 'audit_entries_no_update']);
    } finally {
      raw.close();
    }
  });
});

describe('SQLite stores: device listings use an index at any scale', () => {
  const filters: Omit<DeviceFilter, 'city'>[] = [
    {},
    { industry: 'transport' },
    { type: 'camera' },
    { status: 'suspended' },
    { regionPrefix: '120101' },
    { industry: 'transport', type: 'camera' },
    { industry: 'transport', regionPrefix: '1201' },
    { status: 'active', regionPrefix: '1201' },
  ];

  it.each(filters)('lists and counts %j without scanning the table or sorting', (filter) => {
    const db = openDatabase(':memory:');
    try {
      migrate(db);
      const checked = checkDeviceFilter({ city: 'tianjin', ...filter });
      const after = checked.region === undefined ? ['dev-1'] : ['120101', 'dev-1'];
      for (const key of [undefined, after]) {
        const { conditions, order, params } = deviceListQuery(checked, key);
        const plan = db
          .prepare(`EXPLAIN QUERY PLAN ${listSql('devices', conditions, order)}`)
          .all({ ...params, limit: 101 })
          .map((row) => (row as { detail: string }).detail)
          .join('\n');
        expect(plan).toMatch(/USING (COVERING )?INDEX/);
        expect(plan).not.toMatch(/TEMP B-TREE/);
        // A later page seeks straight to its keyset position instead of skipping from the start.
        if (key !== undefined) expect(plan).toMatch(/\(region_code,device_id\)>\(\?,\?\)|device_id>\?/);
        const count = db
          .prepare(
            `EXPLAIN QUERY PLAN SELECT count(*) FROM devices WHERE ${deviceListQuery(checked).conditions.join(' AND ')}`,
          )
          .all(deviceListQuery(checked).params)
          .map((row) => (row as { detail: string }).detail)
          .join('\n');
        expect(count).toMatch(/USING (COVERING )?INDEX/);
      }
    } finally {
      db.close();
    }
  });
});
