import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, canonicalizeFast } from '../../common/canonical-json.js';
import { isMeshError } from '../../common/errors/mesh-error.js';

// Full Unicode strings (surrogate pairs included, lone surrogates never) for keys and values.
const json = fc.jsonValue({ stringUnit: 'binary', maxDepth: 4 });

/** Rebuilds every object with its members inserted in an order chosen by `seed`. */
function reorder(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((item) => reorder(item, seed));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const weight = (key: string) => {
    let h = seed;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x9e3779b1);
    return h;
  };
  entries.sort(([a], [b]) => weight(a) - weight(b));
  return Object.fromEntries(entries.map(([key, item]) => [key, reorder(item, seed)]));
}

/** An independent model of JCS: member names sorted by UTF-16 code units, then JSON.stringify. */
function sortedStringify(value: unknown): string {
  const sortDeep = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortDeep);
    if (v === null || typeof v !== 'object') return v;
    const keys = Object.keys(v).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(keys.map((key) => [key, sortDeep((v as Record<string, unknown>)[key])]));
  };
  return JSON.stringify(sortDeep(value));
}

describe('canonicalize properties', () => {
  it('is a fixed point: canonicalizing the parsed canonical form gives it back', () => {
    fc.assert(
      fc.property(json, (value) => {
        const canonical = canonicalize(value);
        expect(canonicalize(JSON.parse(canonical))).toBe(canonical);
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order members were inserted in', () => {
    fc.assert(
      fc.property(json, fc.integer(), (value, seed) => {
        expect(canonicalize(reorder(value, seed))).toBe(canonicalize(value));
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with sorting members by UTF-16 code units and serializing as ECMAScript does', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(canonicalize(value)).toBe(sortedStringify(value));
      }),
      { numRuns: 300 },
    );
  });

  it('has a one-pass form (canonicalizeFast) with the same text for any JSON value, at any nesting', () => {
    let deep: unknown = 1;
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 40 }), (value, depth) => {
        expect(canonicalizeFast(value)).toBe(canonicalize(value));
        deep = value;
        for (let i = 0; i < depth; i++) deep = i % 2 === 0 ? [deep] : { [`l${i}`]: deep };
        expect(canonicalizeFast(deep)).toBe(canonicalize(deep));
      }),
      { numRuns: 300 },
    );
  });

  it('has a one-pass form that sorts wide objects and integer-like member names as canonicalize does', () => {
    const name = fc.oneof(fc.string({ unit: 'binary' }), fc.nat({ max: 1000 }).map(String));
    fc.assert(
      fc.property(fc.dictionary(name, fc.integer(), { minKeys: 0, maxKeys: 60 }), (value) => {
        expect(canonicalizeFast(value)).toBe(canonicalize(value));
        expect(canonicalizeFast([value, { nested: value }])).toBe(canonicalize([value, { nested: value }]));
      }),
      { numRuns: 300 },
    );
  });

  it('has a one-pass form that writes -0 as 0 and sorts members by UTF-16 code units', () => {
    const value = { b: -0, a: [1e21, 0.1], '\u{1F600}': true, '\uFFFF': null };
    expect(canonicalizeFast(value)).toBe('{"a":[1e+21,0.1],"b":0,"\u{1F600}":true,"\uFFFF":null}');
    expect(canonicalizeFast(value)).toBe(canonicalize(value));
  });

  it('has a one-pass form that refuses what canonicalize refuses, with the same code and details', () => {
    const outcome = (canon: (value: unknown) => string, value: unknown) => {
      try {
        return { text: canon(value) };
      } catch (err) {
        return isMeshError(err) ? { code: err.code, details: err.details } : { thrown: String(err) };
      }
    };
    const cycle: unknown[] = [];
    cycle.push(cycle);
    const looped: Record<string, unknown> = { a: 1 };
    looped.self = looped;
    let deep: unknown = { leaf: 1 };
    for (let i = 0; i < 1_200; i++) deep = { [`l${i}`]: [deep] };
    for (const value of [
      'lone \uD800',
      { '\uDC00': 1 },
      Number.NaN,
      undefined,
      { u: undefined },
      1n,
      [new Date(0)],
      { n: Number.NEGATIVE_INFINITY },
      { f: () => 1 },
      { [Symbol('s')]: 1 },
      { m: new Map() },
      // biome-ignore lint/suspicious/noSparseArray: a hole is the point
      [1, , 2],
      cycle,
      looped,
      deep,
    ]) {
      const slow = outcome(canonicalize, value);
      expect(slow).toMatchObject({ code: 'MALFORMED_REQUEST' });
      expect(outcome(canonicalizeFast, value)).toEqual(slow);
    }
  });
});
