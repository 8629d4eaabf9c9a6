import { canonicalize, type JsonValue } from '../../common/canonical-json.js';

/*
 * Every audit append canonicalizes its payload, and the generic `canonicalize()` (a full
 * I-JSON check, then the `canonicalize` package) was the largest single cost of an append
 * (~5 µs for a five-member exchange payload). Payloads are small plain data, so this
 * serializes them in one pass and hands anything unusual back to `canonicalize()`, which
 * then either produces the same text or throws its precise MALFORMED_REQUEST error. A
 * property test keeps the two equal.
 */

// Deeper than any payload the node writes; anything deeper (or a cycle) goes the slow way.
const FAST_DEPTH = 32;
// With the `u` flag a well-formed surrogate pair is one code point, so only a lone one matches.
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Thrown inside the fast path when the input needs the generic canonicalizer; never escapes. */
const SLOW = Symbol('slow');

/** The RFC 8785 canonical text of a JSON object payload; equal to `canonicalize(payload)`. */
export function canonicalPayload(payload: { readonly [member: string]: JsonValue }): string {
  try {
    return fast(payload, 0);
  } catch (err) {
    if (err !== SLOW) throw err;
    return canonicalize(payload);
  }
}

function text(value: string): string {
  if (LONE_SURROGATE.test(value)) throw SLOW;
  // RFC 8785 §3.2.2.2: strings are escaped exactly as ECMAScript's JSON.stringify does.
  return JSON.stringify(value);
}

function fast(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return text(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // RFC 8785 §3.2.2.3 is ECMAScript's Number serialization (-0 becomes 0).
      if (!Number.isFinite(value)) throw SLOW;
      return JSON.stringify(value);
    case 'object':
      if (value === null) return 'null';
      if (depth >= FAST_DEPTH) throw SLOW;
      return Array.isArray(value) ? array(value, depth) : object(value, depth);
    default:
      throw SLOW;
  }
}

function array(value: readonly unknown[], depth: number): string {
  // A subclass, an own toJSON or a hole would change or drop what is serialized.
  if (Object.getPrototypeOf(value) !== Array.prototype || 'toJSON' in value) throw SLOW;
  let out = '[';
  for (let i = 0; i < value.length; i++) {
    if (!(i in value)) throw SLOW;
    out += (i === 0 ? '' : ',') + fast(value[i], depth + 1);
  }
  return `${out}]`;
}

function object(value: object, depth: number): string {
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw SLOW;
  if (Object.getOwnPropertySymbols(value).length > 0) throw SLOW;
  // The default sort compares UTF-16 code units: the member order of RFC 8785 §3.2.3.
  const keys = Object.keys(value).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    out += `${i === 0 ? '' : ','}${text(key)}:${fast((value as Record<string, unknown>)[key], depth + 1)}`;
  }
  return `${out}}`;
}
