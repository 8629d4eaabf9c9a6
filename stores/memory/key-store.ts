import { sameContent } from '../../common/content-key.js';
import type { KeyFilter, KeyStatus, KeyStore, StoredKey } from '../../common/stores/key-store.js';
import type { Page, PageRequest } from '../../common/stores/paging.js';
import { clone } from '../shared/clone.js';
import { alreadyExists } from '../shared/errors.js';
import { KEY_PURPOSES, KEY_STATUSES, keyNotFound, transitionKey, validateKey } from '../shared/key-rules.js';
import { type PageTokenCodec, resolvePageSize } from '../shared/page-token.js';
import { requireOneOf, requireText } from '../shared/validate.js';
import { keysetPage } from './keyset.js';

/** {@link KeyStore} in memory, for tests and fakes. */
export class MemoryKeyStore implements KeyStore {
  readonly #keys = new Map<string, StoredKey>();

  constructor(private readonly tokens: PageTokenCodec) {}

  async put(key: StoredKey): Promise<void> {
    const incoming = validateKey(key);
    const stored = this.#keys.get(incoming.kid);
    if (stored === undefined) this.#keys.set(incoming.kid, incoming);
    else if (!sameContent(stored, incoming)) throw alreadyExists(`key ${incoming.kid}`, { kid: incoming.kid });
  }

  async get(kid: string): Promise<StoredKey | undefined> {
    const stored = this.#keys.get(kid);
    return stored === undefined ? undefined : clone(stored);
  }

  async list(filter: KeyFilter, page: PageRequest = {}): Promise<Page<StoredKey>> {
    if (filter.purpose !== undefined) requireOneOf('purpose', filter.purpose, KEY_PURPOSES);
    if (filter.status !== undefined) requireOneOf('status', filter.status, KEY_STATUSES);
    const query = clone(filter);
    const size = resolvePageSize(page.pageSize);
    const after = this.tokens.after('keys', query, page.pageToken, ['string']);
    const matching = [...this.#keys.values()].filter(
      (k) =>
        (filter.purpose === undefined || k.purpose === filter.purpose) &&
        (filter.status === undefined || k.status === filter.status),
    );
    const result = keysetPage(
      matching,
      (k) => [k.kid],
      after,
      size,
      (key) => this.tokens.encode('keys', query, key),
    );
    return { ...result, items: result.items.map(clone) };
  }

  async setStatus(kid: string, status: KeyStatus, at: Date): Promise<StoredKey> {
    const stored = this.#keys.get(requireText('kid', kid));
    if (stored === undefined) throw keyNotFound(kid);
    const next = clone(transitionKey(stored, status, at));
    this.#keys.set(kid, next);
    return clone(next);
  }
}
