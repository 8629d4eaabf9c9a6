import { contentKey, sameContent } from '../../common/content-key.js';
import type { CatalogEntry, CatalogFilter, CatalogStore } from '../../common/stores/catalog-store.js';
import type { Page, PageRequest } from '../../common/stores/paging.js';
import {
  catalogEntryNotFound,
  catalogSearchText,
  checkCatalogFilter,
  validateCatalogEntry,
} from '../shared/catalog-rules.js';
import { alreadyExists } from '../shared/errors.js';
import { type PageTokenCodec, resolvePageSize } from '../shared/page-token.js';
import { versionKey } from '../shared/semver.js';
import { requireDate, requireText } from '../shared/validate.js';
import { fromMs, optionalDateField, optionalMs, toMs } from './columns.js';
import type { SqliteDatabase } from './database.js';
import { afterKey, listSql, type Params, toPage } from './paging.js';
import { StatementCache } from './statements.js';

type CatalogRow = {
  id: string;
  version: string;
  version_key: string;
  kind: CatalogEntry['kind'];
  title: string;
  description: string;
  search_text: string;
  owner_org: string;
  city: string;
  industry: string;
  region_code: string;
  level: CatalogEntry['level'];
  classification: CatalogEntry['classification'];
  schema_json: string;
  license: string;
  requires_agreement: 0 | 1;
  published_at: number;
  withdrawn_at: number | null;
};

function fromRow(row: CatalogRow): CatalogEntry {
  return {
    id: row.id,
    version: row.version,
    kind: row.kind,
    title: row.title,
    description: row.description,
    ownerOrg: row.owner_org,
    city: row.city,
    industry: row.industry,
    regionCode: row.region_code,
    level: row.level,
    classification: row.classification,
    schema: JSON.parse(row.schema_json),
    license: row.license,
    requiresAgreement: row.requires_agreement === 1,
    publishedAt: fromMs(row.published_at),
    ...optionalDateField('withdrawnAt', row.withdrawn_at),
  };
}

function toRow(entry: CatalogEntry): CatalogRow {
  return {
    id: entry.id,
    version: entry.version,
    version_key: versionKey(entry.version),
    kind: entry.kind,
    title: entry.title,
    description: entry.description,
    search_text: catalogSearchText(entry),
    owner_org: entry.ownerOrg,
    city: entry.city,
    industry: entry.industry,
    region_code: entry.regionCode,
    level: entry.level,
    classification: entry.classification,
    schema_json: contentKey(entry.schema),
    license: entry.license,
    requires_agreement: entry.requiresAgreement ? 1 : 0,
    published_at: toMs(entry.publishedAt),
    withdrawn_at: optionalMs(entry.withdrawnAt),
  };
}

/** {@link CatalogStore} on SQLite. Text search is a scan of the matching rows (fine at 10k entries; FTS5 when it is not). */
export class SqliteCatalogStore implements CatalogStore {
  readonly #lists: StatementCache;
  readonly #selectVersion;
  readonly #selectLatest;
  readonly #selectAll;
  readonly #insert;
  readonly #withdrawOne;
  readonly #withdrawAll;
  readonly #put;
  readonly #withdraw;

  constructor(
    db: SqliteDatabase,
    private readonly tokens: PageTokenCodec,
  ) {
    this.#lists = new StatementCache(db);
    this.#selectVersion = db.prepare<[string, string], CatalogRow>(
      'SELECT * FROM catalog_entries WHERE id = ? AND version = ?',
    );
    this.#selectLatest = db.prepare<[string], CatalogRow>(
      'SELECT * FROM catalog_entries WHERE id = ? AND withdrawn_at IS NULL ORDER BY version_key DESC LIMIT 1',
    );
    this.#selectAll = db.prepare<[string], { version: string }>('SELECT version FROM catalog_entries WHERE id = ?');
    this.#insert = db.prepare<[CatalogRow]>(
      `INSERT INTO catalog_entries (id, version, version_key, kind, title, description, search_text, owner_org, city, industry,
         region_code, level, classification, schema_json, license, requires_agreement, published_at, withdrawn_at)
       VALUES (@id, @version, @version_key, @kind, @title, @description, @search_text, @owner_org, @city, @industry,
         @region_code, @level, @classification, @schema_json, @license, @requires_agreement, @published_at, @withdrawn_at)
       ON CONFLICT DO NOTHING`,
    );
    this.#withdrawOne = db.prepare<[number, string, string]>(
      'UPDATE catalog_entries SET withdrawn_at = ? WHERE id = ? AND version = ? AND withdrawn_at IS NULL',
    );
    this.#withdrawAll = db.prepare<[number, string]>(
      'UPDATE catalog_entries SET withdrawn_at = ? WHERE id = ? AND withdrawn_at IS NULL',
    );
    this.#put = db.transaction((entry: CatalogEntry) => {
      if (this.#insert.run(toRow(entry)).changes === 1) return;
      const stored = this.#selectVersion.get(entry.id, entry.version);
      if (stored === undefined || !sameContent(fromRow(stored), entry)) {
        throw alreadyExists(`catalog entry ${entry.id}@${entry.version}`, { id: entry.id, version: entry.version });
      }
    });
    this.#withdraw = db.transaction((id: string, at: Date, version: string | undefined): number => {
      const exists =
        version === undefined
          ? this.#selectAll.get(id) !== undefined
          : this.#selectVersion.get(id, version) !== undefined;
      if (!exists) throw catalogEntryNotFound(id, version);
      return version === undefined
        ? this.#withdrawAll.run(toMs(at), id).changes
        : this.#withdrawOne.run(toMs(at), id, version).changes;
    });
  }

  async put(entry: CatalogEntry): Promise<void> {
    this.#put(validateCatalogEntry(entry));
  }

  async get(id: string, version?: string): Promise<CatalogEntry | undefined> {
    const row = version === undefined ? this.#selectLatest.get(id) : this.#selectVersion.get(id, version);
    return row === undefined ? undefined : fromRow(row);
  }

  async list(filter: CatalogFilter, page: PageRequest = {}): Promise<Page<CatalogEntry>> {
    const checked = checkCatalogFilter(filter);
    const query = checked.filter;
    const size = resolvePageSize(page.pageSize);
    const conditions: string[] = [];
    const params: Params = { limit: size + 1 };
    if (query.includeWithdrawn !== true) conditions.push('withdrawn_at IS NULL');
    for (const [field, column] of [
      ['kind', 'kind'],
      ['city', 'city'],
      ['industry', 'industry'],
      ['classification', 'classification'],
    ] as const) {
      const value = query[field];
      if (value !== undefined) {
        conditions.push(`${column} = @${column}`);
        params[column] = value;
      }
    }
    if (checked.region !== undefined) {
      conditions.push('region_code >= @region_low AND region_code < @region_high');
      params.region_low = checked.region.low;
      params.region_high = checked.region.high;
    }
    if (checked.needle !== undefined) {
      // instr, not LIKE: no wildcard escaping, and the needle is already lower-cased like search_text.
      conditions.push('instr(search_text, @needle) > 0');
      params.needle = checked.needle;
    }
    const after = this.tokens.after('catalog', query, page.pageToken, ['string', 'string']);
    if (after !== undefined) {
      const keyset = afterKey(['id', 'version_key'], after);
      conditions.push(keyset.sql);
      Object.assign(params, keyset.params);
    }
    const rows = this.#lists
      .get(listSql('catalog_entries', conditions, ['id', 'version_key']))
      .all(params) as CatalogRow[];
    return toPage(rows, size, fromRow, (last) =>
      this.tokens.encode('catalog', query, [last.id, versionKey(last.version)]),
    );
  }

  async withdraw(id: string, at: Date, version?: string): Promise<number> {
    return this.#withdraw.immediate(requireText('id', id), requireDate('at', at), version);
  }
}
