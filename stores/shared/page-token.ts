import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { contentKey } from '../../common/content-key.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../common/stores/paging.js';
import { malformed } from './validate.js';

/** A keyset position: the sort-key values of the last item of a page. */
export type KeysetKey = readonly (string | number)[];

/** Expected type of each sort-key value, checked on decode. */
export type KeysetShape = readonly ('string' | 'number')[];

const MAC_CHARS = 22; // 128 bits of HMAC-SHA-256 in base64url: unforgeable, short.

/**
 * Issues and checks page tokens: base64url JSON `{ k: <keyset key>, m: <mac> }`, where the
 * MAC (HMAC-SHA-256 under the store's secret) covers the listing's scope, the canonical
 * query and the key. So a token only works for the query that issued it, and an edited
 * or invented one is refused instead of silently skipping or repeating items.
 */
export class PageTokenCodec {
  readonly #secret: Buffer;

  /** `secret` must stay the same for as long as tokens should remain valid (the database's lifetime). */
  constructor(secret: Uint8Array) {
    if (secret.length < 16) throw new TypeError('PageTokenCodec: secret must be at least 16 bytes');
    this.#secret = Buffer.from(secret);
  }

  /** A codec with a fresh random secret (memory stores: tokens live as long as the store). */
  static random(): PageTokenCodec {
    return new PageTokenCodec(randomBytes(32));
  }

  encode(scope: string, query: unknown, key: KeysetKey): string {
    const json = JSON.stringify({ k: key, m: this.#mac(scope, query, key) });
    return Buffer.from(json, 'utf8').toString('base64url');
  }

  /**
   * Where the page starts: `undefined` for the first page (no token, or the empty string
   * proto3 requests carry by default), else the key inside the token.
   */
  after(scope: string, query: unknown, token: string | undefined, shape: KeysetShape): KeysetKey | undefined {
    return token === undefined || token === '' ? undefined : this.decode(scope, query, token, shape);
  }

  /** The key inside `token`; throws `INVALID_PAGE_TOKEN` unless this codec issued it for this scope and query. */
  decode(scope: string, query: unknown, token: string, shape: KeysetShape): KeysetKey {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    } catch {
      return invalid();
    }
    if (parsed === null || typeof parsed !== 'object') return invalid();
    const { k, m } = parsed as { k?: unknown; m?: unknown };
    if (!Array.isArray(k) || typeof m !== 'string' || k.length !== shape.length) return invalid();
    if (!k.every((value, i) => typeof value === shape[i])) return invalid();
    const expected = Buffer.from(this.#mac(scope, query, k), 'utf8');
    const given = Buffer.from(m, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return invalid();
    return k as KeysetKey;
  }

  #mac(scope: string, query: unknown, key: KeysetKey): string {
    return createHmac('sha256', this.#secret)
      .update(`${scope}\n${contentKey(query)}\n${contentKey(key)}`)
      .digest('base64url')
      .slice(0, MAC_CHARS);
  }
}

function invalid(): never {
  throw new MeshError('INVALID_PAGE_TOKEN', 'the page token was not issued for this query');
}

/**
 * The page size to use: absent or 0 → DEFAULT_PAGE_SIZE, above MAX_PAGE_SIZE → capped
 * (AIP-158: a large request is coerced, not refused); negative or fractional → `MALFORMED_REQUEST`.
 */
export function resolvePageSize(pageSize: number | undefined, field = 'pageSize'): number {
  if (pageSize === undefined || pageSize === 0) return DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 0) malformed(field, 'must be a non-negative integer');
  return Math.min(pageSize, MAX_PAGE_SIZE);
}
