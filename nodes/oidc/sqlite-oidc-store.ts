import Database from 'better-sqlite3';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { AccountRecord, ClientRecord, OidcStore } from './oidc-store.js';

/** The version of the `oidc_*` tables this build writes; kept apart from the node store's migrations. */
export const OIDC_SCHEMA_VERSION = 1;

// Own tables in the node's `node.db`, so the shared store interfaces stay untouched until
// the lead folds this into `stores/`. Records are JSON: only looked-up fields are columns.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS oidc_schema_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS oidc_accounts (
  account_id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS oidc_clients (
  client_id TEXT PRIMARY KEY,
  record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS oidc_payloads (
  model TEXT NOT NULL,
  id TEXT NOT NULL,
  payload TEXT NOT NULL,
  grant_id TEXT,
  uid TEXT,
  user_code TEXT,
  expires_at_ms INTEGER,
  PRIMARY KEY (model, id)
);
CREATE INDEX IF NOT EXISTS oidc_payloads_uid ON oidc_payloads (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_payloads_user_code ON oidc_payloads (model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_payloads_grant ON oidc_payloads (model, grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_payloads_expiry ON oidc_payloads (expires_at_ms) WHERE expires_at_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS oidc_secrets (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

/** Expired payloads are swept every this many writes (and on open): tokens are short-lived, rows pile up. */
const SWEEP_EVERY = 500;

function prepareSchema(db: Database.Database): void {
  db.transaction(() => {
    db.exec(SCHEMA);
    const row = db.prepare<[], { version: number }>('SELECT version FROM oidc_schema_version WHERE id = 1').get();
    if (row === undefined) {
      db.prepare('INSERT INTO oidc_schema_version (id, version) VALUES (1, ?)').run(OIDC_SCHEMA_VERSION);
    } else if (row.version > OIDC_SCHEMA_VERSION) {
      // A newer build may have changed what the JSON means: refuse rather than misread.
      throw new MeshError(
        'STORE_SCHEMA_TOO_NEW',
        `the OIDC tables are version ${row.version}, newer than this build supports (${OIDC_SCHEMA_VERSION})`,
        { details: { schemaVersion: row.version, supportedVersion: OIDC_SCHEMA_VERSION } },
      );
    }
  }).immediate();
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * Opens the OIDC tables on a SQLite file (the node's `node.db`), on a connection of
 * its own, with the same durability as the node store (WAL, synchronous=FULL).
 */
export function openSqliteOidcStore(path: string, nowMs: () => number = Date.now): OidcStore {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    prepareSchema(db);
  } catch (err) {
    db.close();
    throw err;
  }
  const sweep = db.prepare('DELETE FROM oidc_payloads WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ?');
  sweep.run(nowMs());
  let writes = 0;

  const q = {
    putAccount: db.prepare(
      `INSERT INTO oidc_accounts (account_id, username, record) VALUES (?, ?, ?)
       ON CONFLICT (account_id) DO UPDATE SET username = excluded.username, record = excluded.record`,
    ),
    accountByUsername: db.prepare<[string], { record: string }>('SELECT record FROM oidc_accounts WHERE username = ?'),
    accountById: db.prepare<[string], { record: string }>('SELECT record FROM oidc_accounts WHERE account_id = ?'),
    putClient: db.prepare(
      `INSERT INTO oidc_clients (client_id, record) VALUES (?, ?)
       ON CONFLICT (client_id) DO UPDATE SET record = excluded.record`,
    ),
    client: db.prepare<[string], { record: string }>('SELECT record FROM oidc_clients WHERE client_id = ?'),
    listClients: db.prepare<[], { record: string }>('SELECT record FROM oidc_clients ORDER BY client_id'),
    upsert: db.prepare(
      `INSERT INTO oidc_payloads (model, id, payload, grant_id, uid, user_code, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
         uid = excluded.uid, user_code = excluded.user_code, expires_at_ms = excluded.expires_at_ms`,
    ),
    find: db.prepare<[string, string, number], { payload: string }>(
      'SELECT payload FROM oidc_payloads WHERE model = ? AND id = ? AND (expires_at_ms IS NULL OR expires_at_ms > ?)',
    ),
    findByUid: db.prepare<[string, string, number], { payload: string }>(
      'SELECT payload FROM oidc_payloads WHERE model = ? AND uid = ? AND (expires_at_ms IS NULL OR expires_at_ms > ?)',
    ),
    findByUserCode: db.prepare<[string, string, number], { payload: string }>(
      'SELECT payload FROM oidc_payloads WHERE model = ? AND user_code = ? AND (expires_at_ms IS NULL OR expires_at_ms > ?)',
    ),
    consume: db.prepare(
      "UPDATE oidc_payloads SET payload = json_set(payload, '$.consumed', ?) WHERE model = ? AND id = ?",
    ),
    destroy: db.prepare('DELETE FROM oidc_payloads WHERE model = ? AND id = ?'),
    revoke: db.prepare('DELETE FROM oidc_payloads WHERE model = ? AND grant_id = ?'),
    secret: db.prepare<[string], { value: string }>('SELECT value FROM oidc_secrets WHERE name = ?'),
    putSecret: db.prepare('INSERT INTO oidc_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
  };

  const parse = <T>(row: { record: string } | undefined): T | undefined =>
    row === undefined ? undefined : (JSON.parse(row.record) as T);
  const payloadOf = (row: { payload: string } | undefined) =>
    row === undefined ? undefined : (JSON.parse(row.payload) as Record<string, unknown>);

  return {
    async putAccount(account: AccountRecord) {
      try {
        q.putAccount.run(account.accountId, account.username, JSON.stringify(account));
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new MeshError('ALREADY_EXISTS', `account ${account.username} already exists`, { cause: err });
        }
        throw err;
      }
    },
    async accountByUsername(username) {
      return parse<AccountRecord>(q.accountByUsername.get(username));
    },
    async accountById(accountId) {
      return parse<AccountRecord>(q.accountById.get(accountId));
    },
    async putClient(client: ClientRecord) {
      q.putClient.run(client.clientId, JSON.stringify(client));
    },
    async client(clientId) {
      return parse<ClientRecord>(q.client.get(clientId));
    },
    async listClients() {
      return q.listClients.all().map((row) => JSON.parse(row.record) as ClientRecord);
    },
    async upsertPayload(model, id, payload, expiresAtMs) {
      q.upsert.run(
        model,
        id,
        JSON.stringify(payload),
        str(payload['grantId']),
        str(payload['uid']),
        str(payload['userCode']),
        expiresAtMs ?? null,
      );
      if (++writes % SWEEP_EVERY === 0) sweep.run(nowMs());
    },
    async findPayload(model, id, at) {
      return payloadOf(q.find.get(model, id, at));
    },
    async findPayloadBy(model, field, value, at) {
      return payloadOf((field === 'uid' ? q.findByUid : q.findByUserCode).get(model, value, at));
    },
    async consumePayload(model, id, consumedAtSeconds) {
      q.consume.run(consumedAtSeconds, model, id);
    },
    async destroyPayload(model, id) {
      q.destroy.run(model, id);
    },
    async revokeByGrantId(model, grantId) {
      q.revoke.run(model, grantId);
    },
    async secret(name, create) {
      // Insert-if-absent then read: two processes racing both end up with the first value.
      if (q.secret.get(name) === undefined) q.putSecret.run(name, create());
      return q.secret.get(name)!.value;
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
