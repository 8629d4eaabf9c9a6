import { MeshError } from '../../../common/errors/mesh-error.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../../common/stores/paging.js';
import { sha256Hex } from '../exchange-core.js';

/**
 * `page_size` as protocol.md §5 has it: 0 is the default, larger values are capped (never
 * refused), negative ones are `MALFORMED_REQUEST`.
 */
export function pageLimit(typeName: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new MeshError('MALFORMED_REQUEST', `${typeName}.page_size must be 0 or a positive integer`, {
      details: { message: typeName, field: 'page_size' },
    });
  }
  return value === 0 ? DEFAULT_PAGE_SIZE : Math.min(value, MAX_PAGE_SIZE);
}

/** The first 16 hex digits of the query's digest: what binds a token to its query. */
function bindingOf(query: unknown): string {
  return sha256Hex(query).slice(0, 16);
}

/**
 * A page token: a position in the log (a sequence, or a store's own token) plus the
 * digest of the query's other fields, so a token cannot be replayed with another filter.
 */
export function issueToken(query: unknown, position: string): string {
  return `${bindingOf(query)}.${position}`;
}

/**
 * The position in a token this service issued for the same query.
 *
 * @throws MeshError `INVALID_PAGE_TOKEN` for a forged token or one of another query
 */
export function readToken(query: unknown, token: string): string {
  const dot = token.indexOf('.');
  if (dot !== 16 || token.slice(0, dot) !== bindingOf(query) || token.length === dot + 1) {
    throw new MeshError(
      'INVALID_PAGE_TOKEN',
      'page_token was not issued for this query (the other request fields must stay the same)',
      { details: { field: 'page_token' } },
    );
  }
  return token.slice(dot + 1);
}

/** A sequence position read from a token. */
export function sequenceOf(position: string): number {
  if (!/^[1-9]\d{0,14}$/.test(position)) {
    throw new MeshError('INVALID_PAGE_TOKEN', 'page_token is not a token this node issued', {
      details: { field: 'page_token' },
    });
  }
  return Number(position);
}
