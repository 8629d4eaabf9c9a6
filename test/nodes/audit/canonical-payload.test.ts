import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, type JsonValue } from '../../../common/canonical-json.js';
import { isMeshError } from '../../../common/errors/mesh-error.js';
import { canonicalPayload } from '../../../nodes/audit/canonical-payload.js';

type Payload = { readonly [member: string]: JsonValue };

/** What a canonicalizer does with `value`: its text, or the code and details it refuses with. */
function outcome(canon: (value: Payload) => string, value: unknown): unknown {
  try {
    return { text: canon(value as Payload) };
  } catch (err) {
    return isMeshError(err) ? { code: err.code, details: err.details } : { thrown: String(err) };
  }
}

function nested(depth: number): Payload {
  let value: Payload = { leaf: 1 };
  for (let i = 0; i < depth; i++) value = { [`l${i}`]: [value] };
  return value;
}

describe('canonicalPayload', () => {
  it('equals canonicalize() for any JSON object, including odd keys, numbers and deep nesting', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue({ maxDepth: 4 })),
        fc.integer({ min: 0, max: 40 }),
        (payload, depth) => {
          expect(outcome(canonicalPayload, payload)).toEqual(outcome(canonicalize, payload));
          const deep = { ...payload, deep: nested(depth) };
          expect(outcome(canonicalPayload, deep)).toEqual(outcome(canonicalize, deep));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses what canonicalize() refuses, with the same code and details', () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    // biome-ignore lint/suspicious/noSparseArray: a hole is the point
    const sparse = [1, , 3];
    const refused: unknown[] = [
      { s: 'lone \uD800 surrogate' },
      { '\uDC00': 1 },
      { n: Number.NaN },
      { n: Number.POSITIVE_INFINITY },
      { u: undefined },
      { d: new Date(0) },
      { b: 1n },
      { f: () => 1 },
      { [Symbol('s')]: 1 },
      { a: sparse },
      { m: new Map() },
      cycle,
      nested(1_200),
    ];
    for (const value of refused) {
      const slow = outcome(canonicalize, value);
      expect(slow).toMatchObject({ code: 'MALFORMED_REQUEST' });
      expect(outcome(canonicalPayload, value)).toEqual(slow);
    }
  });

  it('serializes -0 as 0 and sorts members by UTF-16 code units', () => {
    expect(canonicalPayload({ b: -0, a: [1e21, 0.1], '\u{1F600}': true, '\uFFFF': null })).toBe(
      canonicalize({ b: -0, a: [1e21, 0.1], '\u{1F600}': true, '\uFFFF': null }),
    );
  });
});
