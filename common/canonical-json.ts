import { createHash } from 'node:crypto';
import jcs from 'canonicalize';
import { MeshError } from './errors/mesh-error.js';

/** A value that I-JSON (RFC 7493) can carry, and so that JCS can canonicalize. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Deepest nesting accepted; deeper input is refused rather than overflowing the stack. */
export const CANONICAL_JSON_MAX_DEPTH = 1000;

const IDENTIFIER_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
// With the `u` flag a well-formed surrogate pair is one code point, so only a lone
// surrogate matches.
const LONE_SURROGATE = /\p{Surrogate}/u;

const member = (path: string, key: string) =>
  IDENTIFIER_KEY.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;

function refuse(path: string, rule: string, what: string): MeshError {
  return new MeshError('MALFORMED_REQUEST', `canonical JSON: ${path} ${what}`, { details: { path, rule } });
}

/**
 * Checks that `value` is I-JSON (RFC 7493) made of plain data, so that JCS has exactly one
 * output for it and nothing is silently dropped or converted the way `JSON.stringify`
 * would (undefined members vanish, Dates become strings, NaN becomes null).
 */
function check(value: unknown, path: string, depth: number, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'boolean':
      return;
    case 'string':
      // RFC 7493 §2.1: strings MUST NOT contain unpaired surrogates; RFC 8785 §3.2.2.2.
      if (LONE_SURROGATE.test(value))
        throw refuse(path, 'lone-surrogate', 'is a string with a lone surrogate (RFC 7493 §2.1)');
      return;
    case 'number':
      // RFC 8785 §3.2.2.3: NaN and Infinity have no JSON form and MUST cause an error.
      if (!Number.isFinite(value))
        throw refuse(path, 'non-finite-number', `is ${value}; only finite numbers are JSON (RFC 8785 §3.2.2.3)`);
      return;
    case 'undefined':
      throw refuse(path, 'undefined', 'is undefined, which JSON cannot carry');
    case 'bigint':
      throw refuse(path, 'bigint', 'is a BigInt; encode it as a string (RFC 7493 §2.2)');
    case 'function':
    case 'symbol':
      throw refuse(path, typeof value, `is a ${typeof value}, which JSON cannot carry`);
  }
  if (value === null) return;
  const object = value as object;
  if (depth >= CANONICAL_JSON_MAX_DEPTH)
    throw refuse(path, 'max-depth', `nests deeper than ${CANONICAL_JSON_MAX_DEPTH} levels`);
  if (ancestors.has(object)) throw refuse(path, 'cycle', 'refers back to an enclosing value (a cycle)');
  ancestors.add(object);
  const proto = Object.getPrototypeOf(object);
  if (Array.isArray(object)) {
    // A subclass or an own toJSON would change what is serialized.
    if (proto !== Array.prototype || 'toJSON' in object) throw refuse(path, 'non-plain-object', 'is not a plain array');
    for (let i = 0; i < object.length; i++) {
      // A hole would become null: refuse it like an explicit undefined.
      if (!(i in object)) throw refuse(`${path}[${i}]`, 'undefined', 'is a hole in a sparse array');
      check(object[i], `${path}[${i}]`, depth + 1, ancestors);
    }
  } else {
    if (proto !== Object.prototype && proto !== null) {
      const name = (object as { constructor?: { name?: unknown } }).constructor?.name;
      throw refuse(
        path,
        'non-plain-object',
        `is a ${typeof name === 'string' && name !== '' ? name : 'non-plain object'}; only plain objects and arrays are JSON`,
      );
    }
    if (Object.getOwnPropertySymbols(object).length > 0)
      throw refuse(path, 'symbol-key', 'has a symbol key, which JSON cannot carry');
    for (const key of Object.keys(object)) {
      const at = member(path, key);
      if (LONE_SURROGATE.test(key))
        throw refuse(at, 'lone-surrogate', 'is a member name with a lone surrogate (RFC 7493 §2.1)');
      check((object as Record<string, unknown>)[key], at, depth + 1, ancestors);
    }
  }
  // Only enclosing values count: the same object twice side by side is not a cycle.
  ancestors.delete(object);
}

/**
 * The RFC 8785 (JCS) canonical form of `value`: members sorted by UTF-16 code units
 * (§3.2.3), numbers in ECMAScript shortest form with `-0` as `0` (§3.2.2.3), strings
 * escaped as ECMAScript's JSON.stringify does (§3.2.2.2), no whitespace.
 * Serialization is the `canonicalize` package (the RFC author's implementation); the
 * input is checked first to be I-JSON (RFC 7493) made of plain data.
 *
 * @throws MeshError `MALFORMED_REQUEST` with `details.path` (`$.a[2].b`) and
 *   `details.rule`: `non-finite-number`, `undefined`, `bigint`, `function`, `symbol`,
 *   `non-plain-object`, `symbol-key`, `lone-surrogate`, `cycle`, `max-depth`
 */
export function canonicalize(value: unknown): string {
  check(value, '$', 0, new Set());
  return jcs(value) as string;
}

/*
 * The same text in one pass, for the hot paths (audit payloads, request and response
 * digests, receipts): the generic `canonicalize()` walks the value twice (the I-JSON check,
 * then the `canonicalize` package) and was the largest cost of an audit append. Plain data
 * is serialized directly; anything unusual is handed back to `canonicalize()`, which then
 * either produces the same text or throws its precise MALFORMED_REQUEST error. A property
 * test keeps the two equal.
 */

// Deeper than any value the node hashes or signs; anything deeper (or a cycle) goes the slow way.
const FAST_DEPTH = 32;

/** Thrown inside the fast path when the input needs the generic canonicalizer; never escapes. */
const SLOW = Symbol('slow');

/**
 * `canonicalize(value)`, computed in one pass when `value` is plain data nested at most 32
 * levels deep (the usual case), else by `canonicalize` itself: same text, same errors.
 */
export function canonicalizeFast(value: unknown): string {
  try {
    return fast(value, 0);
  } catch (err) {
    if (err !== SLOW) throw err;
    return canonicalize(value);
  }
}

function fastText(value: string): string {
  if (LONE_SURROGATE.test(value)) throw SLOW;
  // RFC 8785 §3.2.2.2: strings are escaped exactly as ECMAScript's JSON.stringify does.
  return JSON.stringify(value);
}

function fast(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return fastText(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // RFC 8785 §3.2.2.3 is ECMAScript's Number serialization (-0 becomes 0).
      if (!Number.isFinite(value)) throw SLOW;
      return JSON.stringify(value);
    case 'object':
      if (value === null) return 'null';
      if (depth >= FAST_DEPTH) throw SLOW;
      return Array.isArray(value) ? fastArray(value, depth) : fastObject(value, depth);
    default:
      throw SLOW;
  }
}

function fastArray(value: readonly unknown[], depth: number): string {
  // A subclass, an own toJSON or a hole would change or drop what is serialized.
  if (Object.getPrototypeOf(value) !== Array.prototype || 'toJSON' in value) throw SLOW;
  let out = '[';
  for (let i = 0; i < value.length; i++) {
    if (!(i in value)) throw SLOW;
    out += (i === 0 ? '' : ',') + fast(value[i], depth + 1);
  }
  return `${out}]`;
}

function fastObject(value: object, depth: number): string {
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw SLOW;
  if (Object.getOwnPropertySymbols(value).length > 0) throw SLOW;
  const keys = sortMemberNames(Object.keys(value));
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    out += `${i === 0 ? '' : ','}${fastText(key)}:${fast((value as Record<string, unknown>)[key], depth + 1)}`;
  }
  return `${out}}`;
}

/** Up to this many members are sorted in place; more go to Array.prototype.sort. */
const INSERTION_SORT_MAX = 24;

/**
 * Sorts member names by UTF-16 code units, the member order of RFC 8785 §3.2.3 (what both
 * `<` on strings and the default `sort()` compare). The usual object has a handful of
 * members, and `sort()` allocates its work area on every call: for a page of records that
 * was a tenth of everything a node allocated per exchange.
 */
function sortMemberNames(keys: string[]): string[] {
  if (keys.length > INSERTION_SORT_MAX) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

/** The canonical form as UTF-8 bytes (RFC 8785 §3.2.4): what is signed or hashed. */
export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalizeFast(value));
}

/**
 * SHA-256 of the canonical bytes, base64url without padding (RFC 4648 §5), the encoding
 * JOSE uses for digests and thumbprints (RFC 7515 §2, RFC 7638), so digests can go in
 * JWT claims and URLs as they are.
 */
export function sha256Canonical(value: unknown): string {
  return createHash('sha256').update(canonicalizeFast(value), 'utf8').digest('base64url');
}
