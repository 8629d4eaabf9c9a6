import { describe, expect, it } from 'vitest';
import {
  DecisionCache,
  type PolicyDecision,
  PolicyEngine,
  type PolicyRequest,
  requestKey,
} from '../../../nodes/policy/engine/index.js';
import { line, request, snapshotOf } from './support.js';

const probe = request({
  city: 'tianjin',
  industry: 'transport',
  region: '120101',
  owner: 'beijing',
  objectIndustry: 'transport',
  objectRegion: '110105',
  classification: 'internal',
  purpose: 'planning',
});

const decision = (rule: string): PolicyDecision => ({ allowed: true, rule, reason: '', policyVersion: 'v' });

describe('DecisionCache', () => {
  it('is bounded, keeps what was used lately, and counts hits and misses', () => {
    const cache = new DecisionCache(4);
    cache.set('a', decision('a'));
    cache.set('b', decision('b'));
    cache.set('c', decision('c')); // the young generation {a, b} becomes the old one
    expect(cache.get('a', 'v')?.rule).toBe('a'); // used: copied back into the young generation
    cache.set('d', decision('d')); // {c, a} becomes old, {a, b} is dropped
    expect(cache.get('b', 'v')).toBeUndefined();
    expect(cache.get('a', 'v')?.rule).toBe('a');
    expect(cache.get('d', 'v')?.rule).toBe('d');
    expect(cache.stats()).toMatchObject({ hits: 3, misses: 1, capacity: 4 });
    expect(cache.stats().size).toBeLessThanOrEqual(4);
  });

  it('misses a decision of another version, and holds nothing with capacity 0', () => {
    const cache = new DecisionCache(10);
    cache.set('a', decision('a'));
    expect(cache.get('a', 'another version')).toBeUndefined();
    const off = new DecisionCache(0);
    off.set('a', decision('a'));
    expect(off.get('a', 'v')).toBeUndefined();
    expect(() => new DecisionCache(-1)).toThrow(RangeError);
  });

  it('never holds more than its capacity', () => {
    for (const capacity of [1, 2, 3, 7, 100]) {
      const cache = new DecisionCache(capacity);
      for (let i = 0; i < 1000; i++) {
        cache.set(`k${i}`, decision(`k${i}`));
        cache.get(`k${i >> 1}`, 'v');
        expect(cache.stats().size).toBeLessThanOrEqual(capacity);
      }
    }
  });
});

describe('requestKey', () => {
  const variants: [string, (r: PolicyRequest) => PolicyRequest][] = [
    ['action', (r) => ({ ...r, action: 'subscribe' })],
    ['kind', (r) => ({ ...r, subject: { ...r.subject, kind: 'device' } })],
    ['city', (r) => ({ ...r, subject: { ...r.subject, city: 'langfang' } })],
    ['industry', (r) => ({ ...r, subject: { ...r.subject, industry: 'health' } })],
    ['level', (r) => ({ ...r, subject: { ...r.subject, level: 'city' } })],
    ['region', (r) => ({ ...r, subject: { ...r.subject, region: '120000' } })],
    ['roles', (r) => ({ ...r, subject: { ...r.subject, roles: ['admin'] } })],
    ['owner', (r) => ({ ...r, object: { ...r.object, ownerCity: 'tianjin' } })],
    ['object id', (r) => ({ ...r, object: { ...r.object, id: 'jjj/beijing/other/records' } })],
    ['object industry', (r) => ({ ...r, object: { ...r.object, industry: 'health' } })],
    ['object region', (r) => ({ ...r, object: { ...r.object, region: '110108' } })],
    ['classification', (r) => ({ ...r, object: { ...r.object, classification: 'sensitive' } })],
    ['purpose', (r) => ({ ...r, purpose: 'treatment' })],
    ['agreement', (r) => ({ ...r, context: { agreement: true } })],
    ['ceiling', (r) => ({ ...r, context: { agreement: false, grantMaxClassification: 'public' } })],
  ];
  for (const [what, change] of variants) {
    it(`changes with the ${what}, which some column reads`, () => {
      expect(requestKey(change(probe))).not.toBe(requestKey(probe));
    });
  }

  it('ignores the subject id and org, so devices with the same attributes share entries', () => {
    const other = { ...probe, subject: { ...probe.subject, id: 'device-999999', org: 'another-org' } };
    expect(requestKey(other)).toBe(requestKey(probe));
  });

  it('cannot be forged through a purpose or a role holding a separator', () => {
    const a = { ...probe, subject: { ...probe.subject, roles: ['x|1:y'] }, purpose: '' };
    const b = { ...probe, subject: { ...probe.subject, roles: ['x', 'y'] }, purpose: '' };
    expect(requestKey(a)).not.toBe(requestKey(b));
  });
});

describe('PolicyEngine cache', () => {
  it('counts hits and misses and clears on a new version only', async () => {
    const a = await snapshotOf({ 'a.csv': line('all', 'allow') });
    const b = await snapshotOf({ 'a.csv': line('none', 'deny') });
    const engine = new PolicyEngine({ cacheSize: 10 });
    engine.use(a);
    engine.decide(probe);
    engine.decide({ ...probe, subject: { ...probe.subject, id: 'another-device' } });
    expect(engine.cacheStats()).toMatchObject({ hits: 1, misses: 1, size: 1 });
    engine.use(a);
    expect(engine.cacheStats().size).toBe(1);
    engine.use(b);
    expect(engine.cacheStats().size).toBe(0);
    expect(engine.decide(probe)).toMatchObject({ allowed: false, rule: 'none', policyVersion: b.version });
  });
});

describe('shards', () => {
  it('hold only the rules a request can match, wildcards in every shard', async () => {
    const snapshot = await snapshotOf({
      'a.csv': [
        line('any', 'allow', { class: 'public' }),
        line('transport-read', 'allow', { act: 'read', obj_industry: 'transport' }),
        line('health-read', 'allow', { act: 'read', obj_industry: 'health' }),
        line('langfang-only', 'allow', { sub_city: 'langfang' }),
        line('tianjin-only', 'deny', { sub_city: 'tianjin', obj_city: 'beijing' }),
        line('from-shanghai', 'allow', { obj_city: 'shanghai' }),
      ].join('\n'),
    });
    const ids = (r: PolicyRequest) => snapshot.shardFor(r).all.map((c) => c.rule.id);
    expect(ids(probe)).toEqual(['any', 'transport-read', 'tianjin-only']);
    expect(ids({ ...probe, action: 'publish' })).toEqual(['any', 'tianjin-only']);
    const stranger = { ...probe, subject: { ...probe.subject, city: 'hengshui' } };
    expect(ids(stranger)).toEqual(['any', 'transport-read']);
    expect(snapshot.shardFor(probe).denies.map((c) => c.rule.id)).toEqual(['tianjin-only']);
    // 5 actions × (2 named industries + the rest).
    expect(snapshot.shardSizes).toHaveLength(15);
  });
});
