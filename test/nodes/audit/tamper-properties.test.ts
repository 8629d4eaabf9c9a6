import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalize } from '../../../common/canonical-json.js';
import type { AuditEntry } from '../../../common/stores/audit-store.js';
import { type AuditExport, canonicalEntry, formatInstant, verifyAuditExport } from '../../../nodes/audit/index.js';
import type { JwkSet } from '../../../trust-anchor/index.js';
import { twoCityScenario } from './scenario.js';
import { BEIJING } from './support.js';

/** Kept modest for CI; raise locally (e.g. CITYMESH_PROPERTY_RUNS=500) when changing the verifier. */
const RUNS = Number(process.env.CITYMESH_PROPERTY_RUNS ?? 60);
const now = new Date(Date.UTC(2025, 5, 2));

let evidence: AuditExport;
let peerKeys: Record<string, JwkSet>;
beforeAll(async () => {
  const { consumerExport, provider } = await twoCityScenario(5);
  evidence = consumerExport;
  peerKeys = { [BEIJING]: provider.key.jwks };
});

const verify = (entries: readonly AuditEntry[]) => verifyAuditExport({ ...evidence, entries }, { now, peerKeys });

const text = fc.string({ minLength: 1, maxLength: 20 });
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const payload = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })).map((o) => canonicalize(o));

/** Every field of an entry, and a way to give it another value. */
const change = fc.oneof(
  fc.record({ field: fc.constant('sequence' as const), value: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ field: fc.constant('at' as const), value: fc.integer({ min: 0, max: 4e12 }).map((ms) => new Date(ms)) }),
  fc.record({ field: fc.constant('kind' as const), value: text }),
  fc.record({ field: fc.constant('actor' as const), value: text }),
  fc.record({ field: fc.constant('correlationId' as const), value: fc.option(text, { nil: undefined }) }),
  fc.record({ field: fc.constant('payload' as const), value: payload }),
  fc.record({ field: fc.constant('prevHash' as const), value: hex64 }),
  fc.record({ field: fc.constant('hash' as const), value: hex64 }),
);

function differs(a: unknown, b: unknown): boolean {
  return a instanceof Date && b instanceof Date ? a.getTime() !== b.getTime() : a !== b;
}

describe('audit verification under tampering (property)', () => {
  it('accepts the untouched evidence', async () => {
    expect((await verify(evidence.entries)).valid).toBe(true);
  });

  it('fails when any field of any entry is changed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), change, async (pick, { field, value }) => {
        const i = pick % evidence.entries.length;
        const original = evidence.entries[i] as AuditEntry;
        fc.pre(differs(original[field], value));
        const { [field]: _old, ...rest } = original;
        const tampered = { ...rest, ...(value === undefined ? {} : { [field]: value }) } as AuditEntry;
        const entries = evidence.entries.map((e, j) => (j === i ? tampered : e));
        const report = await verify(entries);
        expect(report.valid).toBe(false);
        expect(report.firstBroken?.sequence).toBeLessThanOrEqual(i + 1);
      }),
      { numRuns: RUNS },
    );
  });

  it('fails when any entry is deleted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), async (pick) => {
        const i = pick % evidence.entries.length;
        const report = await verify(evidence.entries.filter((_, j) => j !== i));
        expect(report.valid).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('fails when entries are reordered', async () => {
    const n = () => evidence.entries.length;
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray([...Array(10).keys()], { minLength: 10, maxLength: 10 }), async (order) => {
        fc.pre(order.some((j, i) => j !== i));
        const report = await verify(order.map((j) => evidence.entries[j % n()] as AuditEntry));
        expect(report.valid).toBe(false);
        expect(report.firstBroken?.sequence).toBe(order.findIndex((j, i) => j !== i) + 1);
      }),
      { numRuns: RUNS },
    );
  });

  it('hashes exactly the RFC 8785 canonical form of the entry', () => {
    fc.assert(
      fc.property(
        fc.record({
          sequence: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
          at: fc.integer({ min: 0, max: 4e12 }).map((ms) => new Date(ms)),
          kind: fc.string({ unit: 'grapheme', minLength: 1 }),
          actor: fc.string({ unit: 'grapheme', minLength: 1 }),
          correlationId: fc.option(fc.string({ unit: 'grapheme', minLength: 1 }), { nil: undefined }),
          payload: fc.dictionary(fc.string({ unit: 'grapheme' }), fc.jsonValue({ maxDepth: 3 })),
          prevHash: hex64,
        }),
        (e) => {
          const fields = { ...e, payload: canonicalize(e.payload) };
          if (fields.correlationId === undefined) delete fields.correlationId;
          const { sequence, prevHash, payload: p, at, correlationId, ...rest } = e;
          const expected = canonicalize({
            ...rest,
            at: formatInstant(at),
            ...(correlationId === undefined ? {} : { correlationId }),
            payload: p,
            prev: prevHash,
            seq: sequence,
          });
          expect(canonicalEntry(fields)).toBe(expected);
        },
      ),
      { numRuns: RUNS * 5 },
    );
  });
});
