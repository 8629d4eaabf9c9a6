/**
 * The decoding half of federation.md §6.1 (rules 2, 3, 12) for a verifier that does its
 * own signature call: compact shape, canonical base64url, JSON objects in strict UTF-8.
 * Kept apart from the access-token rules so that each stays small.
 */

import { isUtf8 } from 'node:buffer';

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * True when `segment` is unpadded base64url in its one canonical spelling. Without this,
 * a token whose last character differs only in unused trailing bits (or one carrying
 * characters Node's decoder silently skips) would decode to the same bytes: a second,
 * distinct token string for one signature, which defeats keying a cache on the string.
 * Checked arithmetically instead of by re-encoding: it runs on every uncached token.
 */
export function isCanonicalBase64url(segment: string): boolean {
  const tail = segment.length % 4;
  if (tail === 1 || !BASE64URL.test(segment)) return false;
  if (tail === 0) return true;
  // 2 trailing characters carry 1 byte (4 spare bits), 3 carry 2 bytes (2 spare bits).
  const value = ALPHABET.indexOf(segment[segment.length - 1]!);
  return value % (tail === 2 ? 16 : 4) === 0;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A base64url segment decoded as a JSON object (strict UTF-8); `undefined` when it is
 * anything else. `isUtf8` + `toString` refuses what a fatal TextDecoder refuses (and a
 * leading BOM, which no JWS encoder writes) at a fraction of its cost on the uncached path.
 */
export function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  const bytes = Buffer.from(segment, 'base64url');
  if (!isUtf8(bytes)) return undefined;
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The three segments of a compact JWS and the bytes its signature covers. */
export interface CompactParts {
  readonly header: string;
  readonly payload: string;
  readonly signature: string;
  /** `header.payload` as bytes (ASCII, since both segments are base64url). */
  readonly signingInput: Buffer;
}

/**
 * Splits a compact JWS, or says why it cannot: exactly three segments, header and payload
 * non-empty, each canonical. An empty signature passes so that `alg: none` is refused for
 * what it is, by the `alg` rule.
 */
export function splitCompact(token: string): CompactParts | string {
  const first = token.indexOf('.');
  const second = first === -1 ? -1 : token.indexOf('.', first + 1);
  if (second === -1 || token.indexOf('.', second + 1) !== -1) {
    return `a compact JWS has 3 segments, this has ${token.split('.').length}`;
  }
  const header = token.slice(0, first);
  const payload = token.slice(first + 1, second);
  const signature = token.slice(second + 1);
  if (header === '' || payload === '') return 'the header and payload segments must not be empty';
  if (!isCanonicalBase64url(header)) return 'segment 0 is not canonical unpadded base64url';
  if (!isCanonicalBase64url(payload)) return 'segment 1 is not canonical unpadded base64url';
  if (!isCanonicalBase64url(signature)) return 'segment 2 is not canonical unpadded base64url';
  return { header, payload, signature, signingInput: Buffer.from(token.slice(0, second), 'latin1') };
}
