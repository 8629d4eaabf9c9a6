import { contentKey, sameContent } from '../../common/content-key.js';
import type { KeyFilter, KeyStatus, KeyStore, StoredKey } from '../../common/stores/key-store.js';
import type { Page, PageRequest } from '../../common/stores/paging.js';
import { clone } from '../shared/clone.js';
import { alreadyExists } from '../shared/errors.js';
import { KEY_PURPOSES, KEY_STATUSES, keyNotFound, transitionKey, validateKey } from '../shared/key-rules.js';
import { type PageTokenCodec, resolvePageSize } from '../shared/page-token.js';
import { requireOneOf, requireText } from '../shared/validate.js';
import { fromMs, optionalDateField, optionalField, optionalMs, toMs } from './columns.js';
import type { SqliteDatabase } from './database.js';
import { afterKey, listSql, type Params, toPage } from './paging.js';
import { StatementCache } from './statements.js';

type KeyRow = {
  kid: string;
  purpose: StoredKey['purpose'];
  alg: string;
  public_jwk: string;
  private_key_pem: string | null;
  certificate_pem: string | null;
  status: KeyStatus;
  created_at: number;
  activated_at: number | null;
  retired_at: number | null;
  revoked_at: number | null;
};

function fromRow(row: KeyRow): StoredKey {
  return {
    kid: row.kid,
    purpose: row.purpose,
    alg: row.alg,
    publicJwk: JSON.parse(row.public_jwk),
    ...optionalField('privateKeyPem', row.private_key_pem),
    ...optionalField('certificatePem', row.certificate_pem),
    status: row.status,
    createdAt: fromMs(row.created_at),
    ...optionalDateField('activatedAt', row.activated_at),
    ...optionalDateField('retiredAt', row.retired_at),
    ...optionalDateField('revokedAt', row.revoked_at),
  };
}

function toRow(key: StoredKey): KeyRow {
  return {
    kid: key.kid,
    purpose: key.purpose,
    alg: key.alg,
    public_jwk: contentKey(key.publicJwk),
    private_key_pem: key.privateKeyPem ?? null,
    certificate_pem: key.certificatePem ?? null,
    status: key.status,
    created_at: toMs(key.createdAt),
    activated_at: optionalMs(key.activatedAt),
    retired_at: optionalMs(key.retiredAt),
    revoked_at: optionalMs(key.revokedAt),
  };
}

/** {@link KeyStore} on SQLite. Private keys are stored as given (PKCS#8 PEM); protect the file. */
export class SqliteKeyStore implements KeyStore {
  readonly #lists: StatementCache;
  readonly #select;
  readonly #insert;
  readonly #update;
  readonly #put;
  readonly #setStatus;

  constructor(
    db: SqliteDatabase,
    private readonly tokens: PageTokenCodec,
  ) {
    this.#lists = new StatementCache(db);
    this.#select = db.prepare<[string], KeyRow>('SELECT * FROM keys WHERE kid = ?');
    this.#insert = db.prepare<[KeyRow]>(
      `INSERT INTO keys (kid, purpose, alg, public_jwk, private_key_pem, certificate_pem, status, created_at, activated_at, retired_at, revoked_at)
       VALUES (@kid, @purpose, @alg, @public_jwk, @private_key_pem, @certificate_pem, @status, @created_at, @activated_at, @retired_at, @revoked_at)
       ON CONFLICT (kid) DO NOTHING`,
    );
    this.#update = db.prepare<[KeyRow]>(
      'UPDATE keys SET status = @status, activated_at = @activated_at, retired_at = @retired_at, revoked_at = @revoked_at WHERE kid = @kid',
    );
    this.#put = db.transaction((incoming: StoredKey) => {
      if (this.#insert.run(toRow(incoming)).changes === 1) return;
      const stored = this.#select.get(incoming.kid);
      if (stored !== undefined && !sameContent(fromRow(stored), incoming))
        throw alreadyExists(`key ${incoming.kid}`, { kid: incoming.kid });
    });
    this.#setStatus = db.transaction((kid: string, status: KeyStatus, at: Date): StoredKey => {
      const row = this.#select.get(kid);
      if (row === undefined) throw keyNotFound(kid);
      const stored = fromRow(row);
      const next = transitionKey(stored, status, at);
      if (next !== stored) this.#update.run(toRow(next));
      return next;
    });
  }

  async put(key: StoredKey): Promise<void> {
    this.#put(validateKey(key));
  }

  async get(kid: string): Promise<StoredKey | undefined> {
    const row = this.#select.get(kid);
    return row === undefined ? undefined : fromRow(row);
  }

  async list(filter: KeyFilter, page: PageRequest = {}): Promise<Page<StoredKey>> {
    if (filter.purpose !== undefined) requireOneOf('purpose', filter.purpose, KEY_PURPOSES);
    if (filter.status !== undefined) requireOneOf('status', filter.status, KEY_STATUSES);
    const query = clone(filter);
    const size = resolvePageSize(page.pageSize);
    const where: string[] = [];
    const params: Params = { limit: size + 1 };
    if (query.purpose !== undefined) {
      where.push('purpose = @purpose');
      params.purpose = query.purpose;
    }
    if (query.status !== undefined) {
      where.push('status = @status');
      params.status = query.status;
    }
    const after = this.tokens.after('keys', query, page.pageToken, ['string']);
    if (after !== undefined) {
      const keyset = afterKey(['kid'], after);
      where.push(keyset.sql);
      Object.assign(params, keyset.params);
    }
    const rows = this.#lists.get(listSql('keys', where, ['kid'])).all(params) as KeyRow[];
    return toPage(rows, size, fromRow, (last) => this.tokens.encode('keys', query, [last.kid]));
  }

  async setStatus(kid: string, status: KeyStatus, at: Date): Promise<StoredKey> {
    return this.#setStatus.immediate(requireText('kid', kid), status, at);
  }
}
