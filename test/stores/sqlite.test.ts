import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { Stores } from '../../common/stores/index.js';
import { openSqliteStores } from '../../stores/sqlite/index.js';
import { describeAgreementStoreCompliance } from '../compliance/agreement-store.js';
import { describeAnchorStoreCompliance } from '../compliance/anchor-store.js';
import { describeAuditStoreCompliance } from '../compliance/audit-store.js';
import { describeCatalogStoreCompliance } from '../compliance/catalog-store.js';
import { describeDeviceStoreCompliance } from '../compliance/device-store.js';
import { describeKeyStoreCompliance } from '../compliance/key-store.js';
import { describePolicyStoreCompliance } from '../compliance/policy-store.js';
import { describeRecordStoreCompliance } from '../compliance/record-store.js';

const dir = mkdtempSync(join(tmpdir(), 'citymesh-sqlite-compliance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

/** Opens a fresh database file and hands out one of its stores; closing deletes the file. */
function openOne<K extends Exclude<keyof Stores, 'close'>>(which: K) {
  return async () => {
    const path = join(dir, `${which}-${++counter}.db`);
    const stores = openSqliteStores(path);
    return {
      store: stores[which],
      close: async () => {
        await stores.close();
        for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
      },
    };
  };
}

/**
 * An opener bound to one fresh database file: each call opens that file again, so a suite
 * can check what survives a close and reopen. The directory's cleanup removes the file.
 */
function reopenable<K extends Exclude<keyof Stores, 'close'>>(which: K) {
  return () => {
    const path = join(dir, `${which}-${++counter}.db`);
    return async () => {
      const stores = openSqliteStores(path);
      return { store: stores[which], close: () => stores.close() };
    };
  };
}

describeKeyStoreCompliance('sqlite', openOne('keys'));
describeDeviceStoreCompliance('sqlite', openOne('devices'));
describeCatalogStoreCompliance('sqlite', openOne('catalog'));
describeRecordStoreCompliance('sqlite', openOne('records'));
describeAuditStoreCompliance('sqlite', openOne('audit'));
describeAgreementStoreCompliance('sqlite', openOne('agreements'));
describePolicyStoreCompliance('sqlite', openOne('policies'), reopenable('policies'));
describeAnchorStoreCompliance('sqlite', openOne('anchor'));
