import type { Page } from '../../common/stores/paging.js';
import type { KeysetKey } from '../shared/page-token.js';

/** Named parameters of a statement. */
export type Params = Record<string, string | number | null>;

/**
 * The keyset condition `(c1, c2, ...) > (@k0, @k1, ...)` and its parameters. SQLite
 * compares row values lexicographically and uses an index on (c1, c2, ...) for it, so a
 * page costs the same whether it is the first or the ten-thousandth.
 */
export function afterKey(columns: readonly string[], key: KeysetKey): { sql: string; params: Params } {
  const names = columns.map((_, i) => `k${i}`);
  const params: Params = {};
  names.forEach((name, i) => {
    params[name] = key[i] as string | number;
  });
  const sql =
    columns.length === 1
      ? `${columns[0]} > @k0`
      : `(${columns.join(', ')}) > (${names.map((n) => `@${n}`).join(', ')})`;
  return { sql, params };
}

/** `SELECT * FROM <table> [WHERE ...] ORDER BY <order> LIMIT @limit`: the shape of every listing. */
export function listSql(table: string, conditions: readonly string[], order: readonly string[]): string {
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  return `SELECT * FROM ${table}${where} ORDER BY ${order.join(', ')} LIMIT @limit`;
}

/**
 * Turns the `size + 1` rows a listing fetched into a page: the extra row only says that a
 * next page exists, whose token is the key of this page's last item.
 */
export function toPage<Row, T>(
  rows: readonly Row[],
  size: number,
  fromRow: (row: Row) => T,
  tokenFor: (last: T) => string,
): Page<T> {
  const items = rows.slice(0, size).map(fromRow);
  const last = items.at(-1);
  return { items, ...(rows.length > size && last !== undefined ? { nextPageToken: tokenFor(last) } : {}) };
}
