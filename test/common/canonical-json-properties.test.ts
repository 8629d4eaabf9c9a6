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
    for (const value of [
      'lone \uD800',
      Number.NaN,
      undefined,
      1n,
      [new Date(0)],
      { n: Number.NEGATIVE_INFINITY },
      // biome-ignore lint/suspicious/noSparseArray: a hole is the point
      [1, , 2],
      cycle,
    ]) {
      const slow = outcome(canonicalize, value);
      expect(slow).toMatchObject({ code: 'MALFORMED_REQUEST' });
      expect(outcome(canonicalizeFast, value)).toEqual(slow);
    }
  });
});
