import { MeshError } from '../../common/errors/mesh-error.js';
import type { Stores } from '../../common/stores/index.js';
import { PageTokenCodec } from '../shared/page-token.js';
import { SqliteAgreementStore } from './agreement-store.js';
import { SqliteAnchorStore } from './anchor-store.js';
import { SqliteAuditStore } from './audit-store.js';
import { SqliteCatalogStore } from './catalog-store.js';
import { openDatabase, type SqliteDatabase } from './database.js';
import { SqliteDeviceStore } from './device-store.js';
import { SqliteKeyStore } from './key-store.js';
import { migrate } from './migrations.js';
import { SqlitePolicyStore } from './policy-store.js';
import { SqliteRecordStore } from './record-store.js';

export { SCHEMA_VERSION } from './migrations.js';
export {
  SqliteAgreementStore,
  SqliteAnchorStore,
  SqliteAuditStore,
  SqliteCatalogStore,
  SqliteDeviceStore,
  SqliteKeyStore,
  SqlitePolicyStore,
  SqliteRecordStore,
};

function pageTokenSecret(db: SqliteDatabase): PageTokenCodec {
  const row = db.prepare<[], { value: string }>("SELECT value FROM store_meta WHERE name = 'page_token_secret'").get();
  if (row === undefined || !/^[0-9a-f]{64}$/.test(row.value)) {
    throw new MeshError('STORE_CORRUPTED', 'the database has no valid page-token secret in store_meta');
  }
  return new PageTokenCodec(Buffer.from(row.value, 'hex'));
}

/**
 * Opens every store on one SQLite database (a file path, or `':memory:'` for a private
 * in-process database), creating and migrating the schema as needed. Fails with
 * `STORE_SCHEMA_TOO_NEW` for a database whose schema is newer than this build's
 * (`SCHEMA_VERSION`), `STORE_CORRUPTED` for one whose history is not this project's.
 */
export function openSqliteStores(path: string): Stores {
  const db = openDatabase(path);
  try {
    migrate(db);
    const tokens = pageTokenSecret(db);
    return {
      keys: new SqliteKeyStore(db, tokens),
      devices: new SqliteDeviceStore(db, tokens),
      catalog: new SqliteCatalogStore(db, tokens),
      records: new SqliteRecordStore(db),
      audit: new SqliteAuditStore(db, tokens),
      agreements: new SqliteAgreementStore(db, tokens),
      policies: new SqlitePolicyStore(db, tokens),
      anchor: new SqliteAnchorStore(db),
      close: async () => {
        if (db.open) db.close();
      },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}
