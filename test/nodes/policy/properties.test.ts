import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { contains } from '../../../common/ids/index.js';
import {
  buildSnapshot,
  PolicyEngine,
  type PolicyRequest,
  type PolicySnapshot,
  regionContains,
} from '../../../nodes/policy/engine/index.js';
import { defaultSources, line, REGIONS, requestArb, ruleCellsArb, ruleFile, snapshotOf } from './support.js';

let baseline: PolicySnapshot;
beforeAll(async () => {
  baseline = await buildSnapshot(defaultSources());
});

/** A deny line that matches exactly this request, whatever the rest of the set says. */
function denyFor(r: PolicyRequest, id: string): string {
  return line(id, 'deny', {
    act: r.action,
    who: r.subject.kind,
    sub_city: r.subject.city,
    sub_industry: r.subject.industry,
    sub_level: r.subject.level,
    sub_region: r.subject.region,
    obj_city: r.object.ownerCity,
    obj_industry: r.object.industry,
    obj_region: r.object.region,
    resource: r.object.id,
    class: r.object.classification,
    purpose: r.purpose === '' ? 'none' : r.purpose,
    agreement: r.context.agreement ? 'required' : 'absent',
  });
}

describe('engine == the plain Casbin enforcer', () => {
  it('on random requests against the shipped baseline', () => {
    const outcomes = { allowed: 0, denied: 0 };
    fc.assert(
      fc.property(requestArb, (r) => {
        const engine = baseline.decide(r);
        const reference = baseline.decideByReference(r);
        expect(engine.allowed).toBe(reference.allowed);
        // On a deny, both name the first deny rule that matched (Casbin stops there).
        if (!engine.allowed && reference.rule !== 'default-deny') expect(engine.rule).toBe(reference.rule);
        outcomes[engine.allowed ? 'allowed' : 'denied']++;
      }),
      { numRuns: 2000 },
    );
    // Both outcomes are common, so the comparison is not vacuous.
    expect(Math.min(outcomes.allowed, outcomes.denied)).toBeGreaterThan(200);
  });

  it('on random rule sets and random requests', async () => {
    const outcomes = { allowed: 0, denied: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(ruleCellsArb, { minLength: 1, maxLength: 25 }),
        fc.array(requestArb, { minLength: 20, maxLength: 20 }),
        async (rules, requests) => {
          const snapshot = await snapshotOf({ 'random.csv': ruleFile(rules) });
          for (const r of requests) {
            const engine = snapshot.decide(r);
            const reference = snapshot.decideByReference(r);
            expect(engine.allowed, JSON.stringify(r)).toBe(reference.allowed);
            if (engine.allowed) expect(snapshot.compiled(engine.rule)?.rule.effect).toBe('allow');
            outcomes[engine.allowed ? 'allowed' : 'denied']++;
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(Math.min(outcomes.allowed, outcomes.denied)).toBeGreaterThan(200);
  });

  it('region containment is common/ids `contains`', () => {
    fc.assert(
      fc.property(fc.constantFrom(...REGIONS), fc.constantFrom(...REGIONS), (a, b) => {
        expect(regionContains(a, b)).toBe(contains(a, b));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('deny always beats allow', () => {
  it('adding a deny that matches an allowed request, in any file and position, denies it by that rule', async () => {
    await fc.assert(
      fc.asyncProperty(
        requestArb,
        fc.array(ruleCellsArb, { maxLength: 10 }),
        fc.boolean(),
        async (r, extra, denyFirst) => {
          const allow = line('allow-it', 'allow');
          const base = { 'a.csv': [allow, ruleFile(extra).replace(/^p, r/gm, 'p, x')].join('\n') };
          const before = await snapshotOf(base);
          fc.pre(before.decide(r).allowed);
          const deny = denyFor(r, 'deny-it');
          const after = await snapshotOf(denyFirst ? { '0-deny.csv': deny, ...base } : { ...base, 'z-deny.csv': deny });
          const decision = after.decide(r);
          expect(decision.allowed).toBe(false);
          expect(decision.rule).toBe('deny-it');
          expect(after.decideByReference(r).allowed).toBe(false);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a random deny rule that matches flips every allow of the baseline', async () => {
    let flipped = 0;
    await fc.assert(
      fc.asyncProperty(
        ruleCellsArb,
        fc.array(requestArb, { minLength: 30, maxLength: 30 }),
        async (cells, requests) => {
          const deny = line('random-deny', 'deny', { ...cells, eft: 'deny' });
          const sources = defaultSources();
          const withDeny = await buildSnapshot({
            ...sources,
            samples: undefined,
            ruleFiles: [...sources.ruleFiles, { name: 'zz.csv', text: deny }],
          });
          const denyRule = withDeny.compiled('random-deny')!;
          for (const r of requests) {
            if (!baseline.decide(r).allowed || !denyRule.matches(r)) continue;
            expect(withDeny.decide(r).allowed).toBe(false);
            flipped++;
          }
        },
      ),
      { numRuns: 100 },
    );
    expect(flipped).toBeGreaterThan(30);
  });
});

describe('the decision cache', () => {
  it('never serves a decision of an older policy version', async () => {
    const sources = defaultSources();
    const variants = [
      baseline,
      await snapshotOf({ 'all.csv': line('allow-everything', 'allow') }),
      await buildSnapshot({
        ...sources,
        samples: undefined,
        ruleFiles: [...sources.ruleFiles, { name: 'zz.csv', text: line('deny-reads', 'deny', { act: 'read' }) }],
      }),
    ];
    let hits = 0;
    const step = fc.oneof(
      fc.record({ swap: fc.integer({ min: 0, max: variants.length - 1 }) }),
      fc.record({ decide: requestArb }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 16 }), (steps, size) => {
        const engine = new PolicyEngine({ cacheSize: size });
        engine.use(variants[0]!);
        const seen: PolicyRequest[] = [];
        for (const s of steps) {
          if ('swap' in s) engine.use(variants[s.swap]!);
          else seen.push(s.decide);
          // Ask again for everything seen so far, so hits are likely.
          for (const r of seen.slice(-4)) {
            const decision = engine.decide(r);
            expect(decision.policyVersion).toBe(engine.version);
            expect(decision).toEqual(engine.current!.decide(r));
          }
        }
        const stats = engine.cacheStats();
        expect(stats.size).toBeLessThanOrEqual(size);
        hits += stats.hits;
      }),
      { numRuns: 300 },
    );
    expect(hits).toBeGreaterThan(1000);
  });
});
