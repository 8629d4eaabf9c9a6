import { MeshError } from '../../common/errors/mesh-error.js';
import { GENESIS_PREV_HASH } from '../../common/stores/audit-store.js';
import type { SqliteDatabase } from './database.js';

/** One schema change. Versions are consecutive from 1; a released migration is never edited. */
export type Migration = {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
};

/** The schema, in order. Append new migrations; never change or remove a released one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'store-meta',
    // The page-token secret lives in the database so tokens survive restarts and work on
    // every process sharing the file, yet cannot be forged from outside.
    sql: `
      CREATE TABLE store_meta (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO store_meta (name, value) VALUES ('page_token_secret', lower(hex(randomblob(32))));
    `,
  },
  {
    version: 2,
    name: 'keys',
    sql: `
      CREATE TABLE keys (
        kid TEXT PRIMARY KEY,
        purpose TEXT NOT NULL CHECK (purpose IN ('federation', 'ca', 'tls', 'oidc', 'audit', 'receipt', 'device-ca')),
        alg TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        private_key_pem TEXT,
        certificate_pem TEXT,
        status TEXT NOT NULL CHECK (status IN ('next', 'active', 'retired', 'revoked')),
        created_at INTEGER NOT NULL,
        activated_at INTEGER,
        retired_at INTEGER,
        revoked_at INTEGER
      );
      CREATE INDEX keys_by_purpose ON keys (purpose, status, kid);
      CREATE INDEX keys_by_status ON keys (status, kid);
    `,
  },
  {
    version: 3,
    name: 'devices',
    // Every list filter has an index ending in device_id, so a filtered page is an index
    // range read in keyset order, with no sort, even with a million devices in the city.
    sql: `
      CREATE TABLE devices (
        city TEXT NOT NULL,
        device_id TEXT NOT NULL,
        type TEXT NOT NULL,
        industry TEXT NOT NULL,
        region_code TEXT NOT NULL,
        owner_org TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
        credentials TEXT NOT NULL CHECK (json_valid(credentials) AND json_array_length(credentials) <= 3),
        attributes TEXT CHECK (attributes IS NULL OR json_valid(attributes)),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (city, device_id)
      );
      CREATE INDEX devices_by_industry ON devices (city, industry, device_id);
      CREATE INDEX devices_by_type ON devices (city, type, device_id);
      CREATE INDEX devices_by_region ON devices (city, region_code, device_id);
      CREATE INDEX devices_by_status ON devices (city, status, device_id);
      CREATE TABLE device_import_checkpoints (
        job_id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        source_sha256 TEXT NOT NULL,
        lines_done INTEGER NOT NULL CHECK (lines_done >= 0),
        inserted INTEGER NOT NULL CHECK (inserted >= 0),
        unchanged INTEGER NOT NULL CHECK (unchanged >= 0),
        rejected INTEGER NOT NULL CHECK (rejected >= 0),
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'catalog',
    // version_key is the zero-padded version, so (id, version_key) order is semver order.
    // search_text is title and description lower-cased in JavaScript (see catalog-rules.ts).
    sql: `
      CREATE TABLE catalog_entries (
        id TEXT NOT NULL,
        version TEXT NOT NULL,
        version_key TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('dataset', 'capability')),
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        search_text TEXT NOT NULL,
        owner_org TEXT NOT NULL,
        city TEXT NOT NULL,
        industry TEXT NOT NULL,
        region_code TEXT NOT NULL,
        level TEXT NOT NULL,
        classification TEXT NOT NULL CHECK (classification IN ('public', 'internal', 'sensitive', 'restricted')),
        schema_json TEXT NOT NULL CHECK (json_valid(schema_json)),
        license TEXT NOT NULL,
        requires_agreement INTEGER NOT NULL CHECK (requires_agreement IN (0, 1)),
        published_at INTEGER NOT NULL,
        withdrawn_at INTEGER,
        PRIMARY KEY (id, version_key),
        UNIQUE (id, version)
      );
      CREATE INDEX catalog_by_city ON catalog_entries (city, id, version_key);
      CREATE INDEX catalog_by_industry ON catalog_entries (industry, id, version_key);
      CREATE INDEX catalog_by_classification ON catalog_entries (classification, id, version_key);
      CREATE INDEX catalog_by_region ON catalog_entries (region_code);
    `,
  },
  {
    version: 5,
    name: 'dataset-records',
    // dataset_sequences keeps each dataset's high-water mark, which outlives deleteDataset
    // so sequences are never reused.
    sql: `
      CREATE TABLE dataset_sequences (
        dataset_id TEXT PRIMARY KEY,
        last_sequence INTEGER NOT NULL CHECK (last_sequence >= 0)
      ) WITHOUT ROWID;
      CREATE TABLE dataset_records (
        dataset_id TEXT NOT NULL,
        sequence INTEGER NOT NULL CHECK (sequence >= 1),
        record_id TEXT,
        json TEXT NOT NULL,
        appended_at INTEGER NOT NULL,
        PRIMARY KEY (dataset_id, sequence)
      );
      CREATE UNIQUE INDEX dataset_records_by_record_id ON dataset_records (dataset_id, record_id) WHERE record_id IS NOT NULL;
    `,
  },
  {
    version: 6,
    name: 'audit',
    // The triggers repeat the store's contiguity check inside the database and forbid
    // rewriting history, so no other writer (an older build, a hand-run SQL shell) can
    // leave a gap or edit an entry without it showing.
    sql: `
      CREATE TABLE audit_entries (
        sequence INTEGER PRIMARY KEY CHECK (sequence >= 1),
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        correlation_id TEXT,
        payload TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX audit_entries_by_correlation ON audit_entries (correlation_id) WHERE correlation_id IS NOT NULL;
      CREATE TRIGGER audit_entries_contiguous BEFORE INSERT ON audit_entries
      WHEN NEW.sequence IS NOT coalesce((SELECT max(sequence) FROM audit_entries), 0) + 1
        OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM audit_entries ORDER BY sequence DESC LIMIT 1), '${GENESIS_PREV_HASH}')
      BEGIN
        SELECT RAISE(ABORT, 'audit chain broken');
      END;
      CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
      BEGIN
        SELECT RAISE(ABORT, 'audit entries are append-only');
      END;
      CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
      BEGIN
        SELECT RAISE(ABORT, 'audit entries are append-only');
      END;
      CREATE TABLE audit_checkpoints (
        sequence INTEGER PRIMARY KEY REFERENCES audit_entries (sequence),
        hash TEXT NOT NULL,
        signed_at INTEGER NOT NULL,
        kid TEXT NOT NULL,
        signature TEXT NOT NULL
      );
      CREATE TABLE audit_receipts (
        correlation_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('consumer', 'provider')),
        receipt_jws TEXT NOT NULL,
        audit_sequence INTEGER NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (correlation_id, role)
      );
    `,
  },
  {
    version: 7,
    name: 'agreements',
    sql: `
      CREATE TABLE agreements (
        id TEXT PRIMARY KEY,
        dataset_id TEXT NOT NULL,
        consumer_city TEXT NOT NULL,
        consumer_subject TEXT NOT NULL,
        provider_city TEXT NOT NULL,
        purpose TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('REQUESTED', 'OFFERED', 'ACCEPTED', 'AGREED', 'VERIFIED', 'FINALIZED', 'TERMINATED', 'EXPIRED')),
        version INTEGER NOT NULL CHECK (version >= 1),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER,
        history TEXT NOT NULL CHECK (json_valid(history))
      );
      CREATE INDEX agreements_by_dataset ON agreements (dataset_id, id);
      CREATE INDEX agreements_by_consumer_city ON agreements (consumer_city, id);
      CREATE INDEX agreements_by_state ON agreements (state, id);
    `,
  },
  {
    version: 8,
    name: 'trust-anchor',
    // Like the audit triggers, these keep the anchor's promises against any writer: the
    // identity is written once, a join token is used once and otherwise never changes,
    // metadata versions are contiguous from 1 and never rewritten, revocations are
    // permanent. The store checks the same rules first so callers get MeshErrors.
    sql: `
      CREATE TABLE anchor_identity (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        cluster TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        root_certificate_pem TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TRIGGER anchor_identity_no_update BEFORE UPDATE ON anchor_identity
      BEGIN
        SELECT RAISE(ABORT, 'the anchor identity is written once');
      END;
      CREATE TRIGGER anchor_identity_no_delete BEFORE DELETE ON anchor_identity
      BEGIN
        SELECT RAISE(ABORT, 'the anchor identity is written once');
      END;
      CREATE TABLE anchor_join_tokens (
        token_id TEXT PRIMARY KEY,
        city TEXT NOT NULL,
        secret_sha256 TEXT NOT NULL CHECK (length(secret_sha256) = 64),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        used_by TEXT,
        CHECK ((used_at IS NULL) = (used_by IS NULL))
      );
      CREATE TRIGGER anchor_join_tokens_used_once BEFORE UPDATE ON anchor_join_tokens
      WHEN OLD.used_at IS NOT NULL
        OR NEW.token_id IS NOT OLD.token_id
        OR NEW.city IS NOT OLD.city
        OR NEW.secret_sha256 IS NOT OLD.secret_sha256
        OR NEW.created_at IS NOT OLD.created_at
        OR NEW.expires_at IS NOT OLD.expires_at
      BEGIN
        SELECT RAISE(ABORT, 'a join token is used once and never changed otherwise');
      END;
      CREATE TABLE anchor_members (
        city TEXT PRIMARY KEY,
        region_code TEXT NOT NULL,
        trust_domain TEXT NOT NULL,
        joined_at INTEGER NOT NULL
      );
      CREATE TABLE anchor_nodes (
        city TEXT NOT NULL REFERENCES anchor_members (city),
        name TEXT NOT NULL,
        spiffe_id TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        grpc_endpoint TEXT NOT NULL,
        federation_jwks TEXT NOT NULL CHECK (json_valid(federation_jwks) AND json_type(federation_jwks) = 'array'),
        ca_certificate_pem TEXT NOT NULL,
        ca_serial TEXT NOT NULL,
        enrolled_at INTEGER NOT NULL,
        PRIMARY KEY (city, name)
      );
      CREATE TABLE anchor_metadata_versions (
        version INTEGER PRIMARY KEY CHECK (version >= 1),
        jwt TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE TRIGGER anchor_metadata_versions_contiguous BEFORE INSERT ON anchor_metadata_versions
      WHEN NEW.version IS NOT coalesce((SELECT max(version) FROM anchor_metadata_versions), 0) + 1
      BEGIN
        SELECT RAISE(ABORT, 'metadata version conflict');
      END;
      CREATE TRIGGER anchor_metadata_versions_no_update BEFORE UPDATE ON anchor_metadata_versions
      BEGIN
        SELECT RAISE(ABORT, 'metadata versions are append-only');
      END;
      CREATE TRIGGER anchor_metadata_versions_no_delete BEFORE DELETE ON anchor_metadata_versions
      BEGIN
        SELECT RAISE(ABORT, 'metadata versions are append-only');
      END;
      CREATE TABLE anchor_revocations (
        kind TEXT NOT NULL CHECK (kind IN ('city', 'node', 'key', 'certificate')),
        id TEXT NOT NULL,
        reason TEXT NOT NULL,
        revoked_at INTEGER NOT NULL,
        version INTEGER NOT NULL REFERENCES anchor_metadata_versions (version),
        PRIMARY KEY (kind, id)
      );
      CREATE INDEX anchor_revocations_by_version ON anchor_revocations (version, kind, id);
      CREATE TRIGGER anchor_revocations_no_update BEFORE UPDATE ON anchor_revocations
      BEGIN
        SELECT RAISE(ABORT, 'revocations are permanent');
      END;
      CREATE TRIGGER anchor_revocations_no_delete BEFORE DELETE ON anchor_revocations
      BEGIN
        SELECT RAISE(ABORT, 'revocations are permanent');
      END;
    `,
  },
  {
    version: 9,
    name: 'anchor-node-previous-ca',
    // A renewed city CA replaces the node's CA; the one before stays published until it
    // expires, so the certificates it issued keep verifying during the switch.
    sql: `
      ALTER TABLE anchor_nodes ADD COLUMN previous_ca_certificate_pem TEXT;
    `,
  },
  {
    version: 10,
    name: 'audit-drop-correlation-index',
    // Nothing reads audit entries by correlation id (receipts are looked up in
    // audit_receipts; the verifier works on exports), yet every append paid for this
    // index: correlation ids are random, so each batch dirtied index pages all over the
    // file, and with synchronous=FULL those pages are written and fsynced with the batch.
    // Measured: it halved durable appends per second with random ids (docs/specs/audit.md §2).
    sql: `
      DROP INDEX audit_entries_by_correlation;
    `,
  },
  {
    version: 11,
    name: 'policy-versions',
    // Versions are immutable and changes append-only, like the audit chain: the triggers
    // keep the activation chain contiguous (each change names the one before as its
    // previous version) against any writer. The store checks the same rules first so
    // callers get MeshErrors. files comes last and versions keep a rowid: a set may be
    // megabytes, and a listing must read the columns before it without touching its
    // overflow pages. active() reads the last row of the changes' rowid B-tree.
    sql: `
      CREATE TABLE policy_versions (
        version TEXT PRIMARY KEY CHECK (length(version) BETWEEN 1 AND 64),
        digest TEXT NOT NULL CHECK (length(digest) = 64),
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        comment TEXT,
        files TEXT NOT NULL CHECK (json_valid(files) AND json_type(files) = 'object')
      );
      CREATE INDEX policy_versions_by_created ON policy_versions (created_at, version);
      CREATE TRIGGER policy_versions_no_update BEFORE UPDATE ON policy_versions
      BEGIN
        SELECT RAISE(ABORT, 'policy versions are immutable');
      END;
      CREATE TABLE policy_changes (
        sequence INTEGER PRIMARY KEY CHECK (sequence >= 1),
        version TEXT NOT NULL REFERENCES policy_versions (version),
        previous_version TEXT REFERENCES policy_versions (version),
        changed_at INTEGER NOT NULL,
        changed_by TEXT NOT NULL,
        summary TEXT,
        rules_added INTEGER NOT NULL CHECK (rules_added >= 0),
        rules_removed INTEGER NOT NULL CHECK (rules_removed >= 0)
      );
      CREATE TRIGGER policy_changes_contiguous BEFORE INSERT ON policy_changes
      WHEN NEW.sequence IS NOT coalesce((SELECT max(sequence) FROM policy_changes), 0) + 1
        OR NEW.previous_version IS NOT (SELECT version FROM policy_changes ORDER BY sequence DESC LIMIT 1)
      BEGIN
        SELECT RAISE(ABORT, 'policy change chain broken');
      END;
      CREATE TRIGGER policy_changes_no_update BEFORE UPDATE ON policy_changes
      BEGIN
        SELECT RAISE(ABORT, 'policy changes are append-only');
      END;
      CREATE TRIGGER policy_changes_no_delete BEFORE DELETE ON policy_changes
      BEGIN
        SELECT RAISE(ABORT, 'policy changes are append-only');
      END;
    `,
  },
  {
    version: 12,
    name: 'anchor-node-gossip',
    // A node's gossip binding: both columns or neither; rows enrolled before have neither.
    // A peer id names one node, so it is unique across the cluster (the store checks it
    // first to name the holder; the index holds the line against any other writer).
    sql: `
      ALTER TABLE anchor_nodes ADD COLUMN gossip_peer_id TEXT;
      ALTER TABLE anchor_nodes ADD COLUMN gossip_address TEXT
        CHECK ((gossip_peer_id IS NULL) = (gossip_address IS NULL));
      CREATE UNIQUE INDEX anchor_nodes_by_gossip_peer_id ON anchor_nodes (gossip_peer_id)
        WHERE gossip_peer_id IS NOT NULL;
    `,
  },
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

type AppliedMigration = { version: number; name: string };

function appliedMigrations(db: SqliteDatabase): AppliedMigration[] {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (table === undefined) return [];
  return db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as AppliedMigration[];
}

/**
 * Refuses a database this build cannot safely use: one written by a newer build (its
 * schema may mean things this code does not know), or one whose history differs from ours.
 */
function checkApplied(applied: readonly AppliedMigration[], migrations: readonly Migration[]): void {
  const newest = applied.at(-1)?.version ?? 0;
  if (newest > migrations.length) {
    throw new MeshError(
      'STORE_SCHEMA_TOO_NEW',
      `the database schema is version ${newest}, newer than this build supports (${migrations.length}); run a newer citymesh`,
      { details: { schemaVersion: newest, supportedVersion: migrations.length } },
    );
  }
  applied.forEach((row, i) => {
    const known = migrations[i];
    if (known === undefined || row.version !== known.version || row.name !== known.name) {
      throw new MeshError(
        'STORE_CORRUPTED',
        `the database's migration ${row.version} (${row.name}) is not this build's`,
        {
          details: { schemaVersion: row.version },
        },
      );
    }
  });
}

/**
 * Brings the schema up to date: all pending migrations in one IMMEDIATE transaction, so
 * an upgrade either completes or leaves the old schema, and two processes opening a new
 * file at once cannot both apply them (the second re-reads inside the lock and finds
 * nothing to do). Returns the schema version.
 */
export function migrate(db: SqliteDatabase, migrations: readonly Migration[] = MIGRATIONS): number {
  // Check before taking the write lock: a newer schema must be refused without writing.
  const before = appliedMigrations(db);
  checkApplied(before, migrations);
  if (before.length === migrations.length) return migrations.length;
  const upgrade = db.transaction(() => {
    // applied_at is operational bookkeeping, not domain data, so SQLite's clock is fine here.
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at INTEGER NOT NULL DEFAULT (unixepoch())
    )`);
    const applied = appliedMigrations(db);
    checkApplied(applied, migrations);
    const record = db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)');
    for (const migration of migrations.slice(applied.length)) {
      db.exec(migration.sql);
      record.run(migration.version, migration.name);
    }
  });
  upgrade.immediate();
  return migrations.length;
}
