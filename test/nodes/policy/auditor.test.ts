import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildSnapshot,
  diffSnapshots,
  explain,
  formatSet,
  type PolicySnapshot,
  whatCan,
  whoCan,
} from '../../../nodes/policy/engine/index.js';
import { defaultSources, line, request } from './support.js';

let baseline: PolicySnapshot;
beforeAll(async () => {
  baseline = await buildSnapshot(defaultSources());
});

/** A Tianjin hospital device asking for Beijing's sensitive patient records, for treatment, under an agreement. */
const deviceAsks = request({
  kind: 'device',
  city: 'tianjin',
  industry: 'health',
  region: '120101',
  owner: 'beijing',
  objectIndustry: 'health',
  objectRegion: '110000',
  classification: 'sensitive',
  purpose: 'treatment',
  agreement: true,
});

describe('explain', () => {
  it('names the deciding rule, and says for every rule of the shard whether it matched and why not', () => {
    const e = explain(baseline, deviceAsks, { withReference: true });
    expect(e.decision).toMatchObject({ allowed: false, rule: 'devices-not-above-internal' });
    expect(e.decidedBy?.file).toBe('guards.csv');
    expect(e.reference).toMatchObject({ allowed: false, agrees: true });
    const byRule = new Map(e.evaluated.map((r) => [r.rule, r]));
    // The allow that the deny overrode matched too.
    expect(byRule.get('health-treatment')).toMatchObject({ matched: true, failed: [] });
    expect(byRule.get('devices-not-above-internal')?.matched).toBe(true);
    expect(byRule.get('own-region-internal')?.failed.map((f) => f.column)).toEqual(['sub_city', 'class', 'relation']);
    expect(byRule.get('own-region-internal')?.failed[0]?.reason).toBe(
      "the subject's city tianjin is not $owner (owner beijing)",
    );
    // Only the shard: publish and administer rules are not candidates for a read.
    expect(byRule.has('own-publish')).toBe(false);
    expect(e.evaluated.length).toBeLessThan(e.rulesInSet);
  });

  it('explains a default deny with the closest allow', () => {
    const e = explain(baseline, {
      ...deviceAsks,
      subject: { ...deviceAsks.subject, kind: 'person' },
      context: { agreement: false },
    });
    expect(e.decision).toMatchObject({ allowed: false, rule: 'sensitive-needs-agreement', code: 'AGREEMENT_REQUIRED' });
    const nothing = explain(baseline, { ...deviceAsks, action: 'publish' });
    expect(nothing.decidedBy).toBeUndefined();
    expect(nothing.decision.rule).toBe('default-deny');
    expect(nothing.evaluated.every((r) => !r.matched)).toBe(true);
  });
});

describe('whoCan', () => {
  it('lists the subject selectors allowed on a dataset, with the denies that override them', () => {
    const answer = whoCan(baseline, deviceAsks.object, 'read');
    const allowed = new Map(answer.allowed.map((s) => [s.rule, s]));
    expect([...allowed.keys()].sort()).toEqual([
      'health-treatment',
      'own-region-sensitive',
      'own-restricted-same-industry',
    ]);
    const treatment = allowed.get('health-treatment')!;
    expect(formatSet(treatment.cities)).toBe('any but beijing');
    expect(formatSet(treatment.industries)).toBe('health');
    expect(formatSet(treatment.purposes)).toBe('public-health or treatment');
    expect(treatment.agreementRequired).toBe(true);
    expect(treatment.exceptions).toEqual(['devices-not-above-internal']);
    expect(treatment.sentence).toBe(
      'Non-Beijing health subjects may read health data of Beijing classified up to sensitive, with purpose treatment or public-health, under an agreement',
    );
    // A declared purpose and an agreement are asked for, so the two guards about them cannot override it.
    expect(allowed.get('own-region-sensitive')?.exceptions).toEqual([
      'health-records-purpose',
      'devices-not-above-internal',
    ]);
    expect(answer.denied.map((d) => d.rule)).toContain('health-records-agreement');
  });

  it('public data: every member city, no exceptions', () => {
    const answer = whoCan(baseline, { ...deviceAsks.object, classification: 'public' }, 'subscribe');
    expect(answer.allowed.map((s) => s.rule)).toContain('public-open');
    expect(answer.allowed.find((s) => s.rule === 'public-open')?.exceptions).toEqual([]);
    expect(answer.denied).toEqual([]);
  });
});

describe('whatCan', () => {
  it('lists what a subject may access, with $owner and $same resolved against it, and its restrictions', () => {
    const answer = whatCan(baseline, deviceAsks.subject);
    const allowed = new Map(answer.allowed.map((s) => [s.rule, s]));
    expect(formatSet(allowed.get('own-region-internal')!.ownerCities)).toBe('tianjin');
    expect(allowed.get('own-region-internal')!.regions).toBe('120101 or below');
    expect(formatSet(allowed.get('health-treatment')!.ownerCities)).toBe('any but tianjin');
    expect(formatSet(allowed.get('own-restricted-same-industry')!.industries)).toBe('health');
    // Not national or province level, not an environment or public-safety office, no admin role.
    for (const absent of ['report-up', 'cluster-environment', 'emergency-public-safety', 'own-administer']) {
      expect(allowed.has(absent)).toBe(false);
    }
    expect(answer.restrictions.map((r) => r.rule)).toEqual([
      'sensitive-needs-purpose',
      'sensitive-needs-agreement',
      'devices-not-above-internal',
    ]);
  });
});

describe('diff', () => {
  it('renders added, removed and changed rules as sentences', async () => {
    const sources = defaultSources();
    const grant = line('tianjin-health', 'allow', {
      act: 'read',
      sub_city: 'tianjin',
      sub_industry: 'health',
      obj_city: 'beijing',
      obj_industry: 'health',
      class: '<=sensitive',
      purpose: 'treatment',
      agreement: 'required',
    });
    const next = await buildSnapshot({
      ...sources,
      samples: undefined,
      ruleFiles: sources.ruleFiles.map((f) =>
        f.name === 'guards.csv'
          ? { ...f, text: f.text.replace(/^p, devices-not-above-internal,.*$/m, '') }
          : f.name === 'baseline.csv'
            ? { ...f, text: f.text.replace('p, report-up, allow, read|subscribe,', 'p, report-up, allow, read,') }
            : f.name === 'grants.csv'
              ? { ...f, text: `${f.text}\n${grant}\n` }
              : f,
      ),
    });
    const diff = diffSnapshots(baseline, next);
    expect(diff.from).toBe(baseline.version);
    expect(diff.to).toBe(next.version);
    expect(diff.changes.map((c) => [c.kind, c.rule])).toEqual([
      ['changed', 'report-up'],
      ['removed', 'devices-not-above-internal'],
      ['added', 'tianjin-health'],
    ]);
    expect(diff.changes[0]?.columns).toEqual(['act']);
    expect(diff.sentences).toContainEqual(
      expect.stringMatching(
        /^Tianjin health subjects gained read on health data of Beijing classified up to sensitive, with purpose treatment, under an agreement \(rule tianjin-health, grants\.csv:\d+ added\)$/,
      ),
    );
    expect(diff.sentences).toContain(
      "Any city's devices are no longer denied read, subscribe or invoke on data classified sensitive or above (deny rule devices-not-above-internal, guards.csv:23 removed)",
    );
    expect(
      diff.sentences.some((s) =>
        s.startsWith("Any city's national or province-level subjects lost read and subscribe"),
      ),
    ).toBe(true);
    expect(diff.samplesChanged).toBe(true);
    expect(diff.modelChanged).toBe(false);
    expect(diffSnapshots(baseline, baseline).sentences).toEqual([]);
  });
});
