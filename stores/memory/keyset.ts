import type { Page } from '../../common/stores/paging.js';
import type { KeysetKey } from '../shared/page-token.js';

/** Orders keyset keys element by element (numbers numerically, strings by code unit). */
export function compareKeys(a: KeysetKey, b: KeysetKey): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as string | number;
    const y = b[i] as string | number;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return a.length - b.length;
}

/**
 * One page of `items` in key order after `after`: the in-memory twin of
 * `WHERE key > :after ORDER BY key LIMIT size + 1`. The extra item only tells whether a
 * next page exists; its token is the key of the page's last item.
 */
export function keysetPage<T>(
  items: Iterable<T>,
  keyOf: (item: T) => KeysetKey,
  after: KeysetKey | undefined,
  size: number,
  tokenFor: (key: KeysetKey) => string,
): Page<T> {
  const sorted = [...items]
    .map((item) => ({ item, key: keyOf(item) }))
    .filter(({ key }) => after === undefined || compareKeys(key, after) > 0)
    .sort((a, b) => compareKeys(a.key, b.key));
  const page = sorted.slice(0, size);
  const last = page.at(-1);
  return {
    items: page.map(({ item }) => item),
    ...(sorted.length > size && last !== undefined ? { nextPageToken: tokenFor(last.key) } : {}),
  };
}
