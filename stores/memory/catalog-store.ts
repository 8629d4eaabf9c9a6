import { sameContent } from '../../common/content-key.js';
import type { CatalogEntry, CatalogFilter, CatalogStore } from '../../common/stores/catalog-store.js';
import type { Page, PageRequest } from '../../common/stores/paging.js';
import {
  type CheckedCatalogFilter,
  catalogEntryNotFound,
  catalogSearchText,
  checkCatalogFilter,
  validateCatalogEntry,
} from '../shared/catalog-rules.js';
import { clone } from '../shared/clone.js';
import { alreadyExists } from '../shared/errors.js';
import { type PageTokenCodec, resolvePageSize } from '../shared/page-token.js';
import { versionKey } from '../shared/semver.js';
import { requireDate, requireText } from '../shared/validate.js';
import { compareKeys, keysetPage } from './keyset.js';

/** {@link CatalogStore} in memory, for tests and fakes. */
export class MemoryCatalogStore implements CatalogStore {
  /** id → version → entry. */
  readonly #entries = new Map<string, Map<string, CatalogEntry>>();

  constructor(private readonly tokens: PageTokenCodec) {}

  async put(entry: CatalogEntry): Promise<void> {
    const incoming = validateCatalogEntry(entry);
    const versions = this.#entries.get(incoming.id) ?? new Map<string, CatalogEntry>();
    const stored = versions.get(incoming.version);
    if (stored !== undefined) {
      if (sameContent(stored, incoming)) return;
      throw alreadyExists(`catalog entry ${incoming.id}@${incoming.version}`, {
        id: incoming.id,
        version: incoming.version,
      });
    }
    versions.set(incoming.version, incoming);
    this.#entries.set(incoming.id, versions);
  }

  async get(id: string, version?: string): Promise<CatalogEntry | undefined> {
    const versions = [...(this.#entries.get(id)?.values() ?? [])];
    const found =
      version === undefined
        ? versions
            .filter((e) => e.withdrawnAt === undefined)
            .sort((a, b) => compareKeys([versionKey(b.version)], [versionKey(a.version)]))[0]
        : versions.find((e) => e.version === version);
    return found === undefined ? undefined : clone(found);
  }

  async list(filter: CatalogFilter, page: PageRequest = {}): Promise<Page<CatalogEntry>> {
    const checked = checkCatalogFilter(filter);
    const size = resolvePageSize(page.pageSize);
    const after = this.tokens.after('catalog', checked.filter, page.pageToken, ['string', 'string']);
    const result = keysetPage(
      this.#matching(checked),
      (e) => [e.id, versionKey(e.version)],
      after,
      size,
      (key) => this.tokens.encode('catalog', checked.filter, key),
    );
    return { ...result, items: result.items.map(clone) };
  }

  async withdraw(id: string, at: Date, version?: string): Promise<number> {
    requireText('id', id);
    requireDate('at', at);
    const versions = this.#entries.get(id);
    const targets = [...(versions?.values() ?? [])].filter((e) => version === undefined || e.version === version);
    if (versions === undefined || targets.length === 0) throw catalogEntryNotFound(id, version);
    let withdrawn = 0;
    for (const entry of targets) {
      if (entry.withdrawnAt !== undefined) continue;
      versions.set(entry.version, { ...entry, withdrawnAt: new Date(at.getTime()) });
      withdrawn++;
    }
    return withdrawn;
  }

  *#matching({ filter, needle, region }: CheckedCatalogFilter): Iterable<CatalogEntry> {
    for (const versions of this.#entries.values()) {
      for (const e of versions.values()) {
        if (filter.includeWithdrawn !== true && e.withdrawnAt !== undefined) continue;
        if (filter.kind !== undefined && e.kind !== filter.kind) continue;
        if (filter.city !== undefined && e.city !== filter.city) continue;
        if (filter.industry !== undefined && e.industry !== filter.industry) continue;
        if (filter.classification !== undefined && e.classification !== filter.classification) continue;
        if (region !== undefined && !(e.regionCode >= region.low && e.regionCode < region.high)) continue;
        if (needle !== undefined && !catalogSearchText(e).includes(needle)) continue;
        yield e;
      }
    }
  }
}
