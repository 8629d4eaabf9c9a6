import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CANONICAL_JSON_MAX_DEPTH,
  canonicalBytes,
  canonicalize,
  sha256Canonical,
} from '../../common/canonical-json.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import invalid from '../vectors/jcs/invalid-i-json.json' with { type: 'json' };
import numbers from '../vectors/jcs/rfc8785-numbers.json' with { type: 'json' };
import sample from '../vectors/jcs/rfc8785-sample.json' with { type: 'json' };
import sorting from '../vectors/jcs/rfc8785-sorting.json' with { type: 'json' };

/** Runs `fn` and returns the MeshError it throws; fails the test when it does not throw one. */
function meshErrorOf(fn: () => unknown): MeshError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    return err as MeshError;
  }
  throw new Error('expected a MeshError, nothing was thrown');
}

const fromIeee754 = (hex: string): number => Buffer.from(hex, 'hex').readDoubleBE(0);

describe('canonicalize (RFC 8785)', () => {
  it('produces the canonical form of the §3.2.2 sample', () => {
    expect(canonicalize(JSON.parse(sample.input))).toBe(sample.expected);
  });

  it('orders members by UTF-16 code units, as in the §3.2.3 example', () => {
    const canonical = canonicalize(JSON.parse(sorting.input));
    // Member order as written (JSON.parse would move the integer-like key "1" first).
    const positions = sorting.expectedValues.map((value) => canonical.indexOf(JSON.stringify(value)));
    expect(positions.every((position, i) => position > (positions[i - 1] ?? 0))).toBe(true);
    expect(canonical).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('encodes the §3.2.3 example as the UTF-8 bytes of §3.2.4', () => {
    const bytes = canonicalBytes(JSON.parse(sorting.input));
    // The first member, per §3.2.4: {"\r":"Carriage Return"... starts 7b 22 5c 72 22 3a.
    expect(Array.from(bytes.slice(0, 6))).toEqual([0x7b, 0x22, 0x5c, 0x72, 0x22, 0x3a]);
    // The emoji key is 4 UTF-8 bytes: f0 9f 98 80.
    expect(Buffer.from(bytes).includes(Buffer.from([0xf0, 0x9f, 0x98, 0x80]))).toBe(true);
  });

  describe('serializes numbers as Appendix B lists', () => {
    for (const vector of numbers.vectors) {
      const value = fromIeee754(vector.ieee754);
      if ('expected' in vector) {
        it(`${vector.ieee754} → ${vector.expected}`, () => {
          expect(canonicalize(value)).toBe(vector.expected);
          expect(canonicalize([value])).toBe(`[${vector.expected}]`);
        });
      } else {
        it(`refuses ${vector.ieee754} (${vector.comment})`, () => {
          const err = meshErrorOf(() => canonicalize({ n: value }));
          expect(err.code).toBe('MALFORMED_REQUEST');
          expect(err.details).toMatchObject({ path: '$.n', rule: vector.error });
        });
      }
    }
  });

  it('serializes -0 as 0 (§3.2.2.3)', () => {
    expect(canonicalize(-0)).toBe('0');
    expect(canonicalize({ a: [-0, 0] })).toBe('{"a":[0,0]}');
  });

  it('sorts nested members and keeps array order', () => {
    expect(canonicalize({ b: [3, 1, { z: 1, a: 2 }], a: { d: null, c: true } })).toBe(
      '{"a":{"c":true,"d":null},"b":[3,1,{"a":2,"z":1}]}',
    );
  });

  it('accepts an object with a null prototype and the same object twice side by side', () => {
    const bare = Object.assign(Object.create(null) as object, { x: 1 });
    const shared = { s: 1 };
    expect(canonicalize({ bare, left: shared, right: shared })).toBe('{"bare":{"x":1},"left":{"s":1},"right":{"s":1}}');
  });

  describe('refuses JSON texts that are not I-JSON', () => {
    for (const vector of invalid.vectors) {
      it(vector.name, () => {
        const err = meshErrorOf(() => canonicalize(JSON.parse(vector.input)));
        expect(err.code).toBe('MALFORMED_REQUEST');
        expect(err.details).toMatchObject({ path: vector.path, rule: vector.rule });
        expect(err.message).toContain(vector.path);
      });
    }
  });

  describe('refuses values JSON cannot carry, naming the JSON path', () => {
    class Point {
      x = 1;
    }
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = { back: cycle };
    const sparse: unknown[] = [1];
    sparse[2] = 3;
    const withSymbolKey = { [Symbol('s')]: 1, a: 1 };
    const arrayWithToJson = Object.assign([1], { toJSON: () => 'x' });
    const cases: [name: string, value: unknown, path: string, rule: string][] = [
      ['NaN', { a: [1, 2, { b: Number.NaN }] }, '$.a[2].b', 'non-finite-number'],
      ['Infinity', { a: Number.POSITIVE_INFINITY }, '$.a', 'non-finite-number'],
      ['-Infinity', [Number.NEGATIVE_INFINITY], '$[0]', 'non-finite-number'],
      ['an undefined member', { a: { b: undefined } }, '$.a.b', 'undefined'],
      ['an undefined element', [1, undefined], '$[1]', 'undefined'],
      ['undefined at the top', undefined, '$', 'undefined'],
      ['a sparse array hole', sparse, '$[1]', 'undefined'],
      ['a BigInt', { n: 10n }, '$.n', 'bigint'],
      ['a function', { f: () => 1 }, '$.f', 'function'],
      ['a symbol value', { s: Symbol('s') }, '$.s', 'symbol'],
      ['a symbol key', withSymbolKey, '$', 'symbol-key'],
      ['a Date', { at: new Date(0) }, '$.at', 'non-plain-object'],
      ['a Map', { m: new Map() }, '$.m', 'non-plain-object'],
      ['a class instance', { p: new Point() }, '$.p', 'non-plain-object'],
      ['a boxed number', { n: new Number(1) }, '$.n', 'non-plain-object'],
      ['a Uint8Array', { b: new Uint8Array(2) }, '$.b', 'non-plain-object'],
      ['an array with its own toJSON', { a: arrayWithToJson }, '$.a', 'non-plain-object'],
      ['a cycle', cycle, '$.self.back', 'cycle'],
      ['a key that is not an identifier', { 'a b': { c: Number.NaN } }, '$["a b"].c', 'non-finite-number'],
      ['a lone surrogate in a key', { '\ud800': 1 }, '$["\\ud800"]', 'lone-surrogate'],
    ];
    for (const [name, value, path, rule] of cases) {
      it(`refuses ${name} at ${path}`, () => {
        const err = meshErrorOf(() => canonicalize(value));
        expect(err.code).toBe('MALFORMED_REQUEST');
        expect(err.details).toMatchObject({ path, rule });
      });
    }
  });

  it(`refuses nesting deeper than ${CANONICAL_JSON_MAX_DEPTH} levels instead of overflowing the stack`, () => {
    let deep: unknown = 1;
    for (let i = 0; i < CANONICAL_JSON_MAX_DEPTH + 5; i++) deep = [deep];
    expect(meshErrorOf(() => canonicalize(deep)).details.rule).toBe('max-depth');
  });
});

describe('sha256Canonical', () => {
  it('is the unpadded base64url SHA-256 of the canonical UTF-8 bytes', () => {
    const value = { b: 2, a: '€' };
    const expected = createHash('sha256').update('{"a":"€","b":2}', 'utf8').digest('base64url');
    expect(sha256Canonical(value)).toBe(expected);
    expect(sha256Canonical(value)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('gives the same digest whatever the member order', () => {
    expect(sha256Canonical({ a: 1, b: [1, { y: 1, x: 2 }] })).toBe(sha256Canonical({ b: [1, { x: 2, y: 1 }], a: 1 }));
  });

  it('refuses what canonicalize refuses', () => {
    expect(meshErrorOf(() => sha256Canonical({ a: Number.NaN })).details).toMatchObject({
      path: '$.a',
      rule: 'non-finite-number',
    });
  });
});
