import { describe, expect, it } from 'vitest';
import type { PlannedEntry } from '../../simulations/exchange-phase.js';
import { exchangeModeFor, FULL_MATRIX_MAX_CITIES, planPair } from '../../simulations/exchange-plan.js';

const entry = (name: string, kind: PlannedEntry['kind'], classification: string, agreementRequired = false) => ({
  id: `jjj/tianjin/org/${name}`,
  kind,
  classification,
  agreementRequired,
  industry: 'transport',
});

/** The shape of the sample catalog: 3 public, 2 internal, 3 needing agreements, 2 capabilities. */
const CATALOG: PlannedEntry[] = [
  entry('bus-stops', 'dataset', 'public'),
  entry('air', 'dataset', 'public'),
  entry('spots', 'dataset', 'public'),
  entry('halls', 'dataset', 'internal'),
  entry('depots', 'dataset', 'internal'),
  entry('fires', 'dataset', 'sensitive'),
  entry('beds', 'dataset', 'sensitive', true),
  entry('care', 'dataset', 'restricted', true),
  entry('region-lookup', 'capability', 'public'),
  entry('air-summary', 'capability', 'internal'),
];

describe('exchange plan', () => {
  it('uses the full matrix up to six cities and samples above', () => {
    expect(exchangeModeFor(3)).toBe('full');
    expect(exchangeModeFor(FULL_MATRIX_MAX_CITIES)).toBe('full');
    expect(exchangeModeFor(27)).toBe('sampled');
  });

  it('calls every entry in the full matrix: fetch all datasets, stream the open ones, invoke every capability', () => {
    const calls = planPair(CATALOG, 'full', 0);
    expect(calls.filter((c) => c.kind === 'fetch')).toHaveLength(8);
    expect(calls.filter((c) => c.kind === 'stream').map((c) => c.entry.id.split('/').at(-1))).toEqual([
      'bus-stops',
      'air',
      'spots',
    ]);
    expect(calls.filter((c) => c.kind === 'invoke')).toHaveLength(2);
    expect(calls.filter((c) => c.expected === 'POLICY_DENIED')).toHaveLength(3);
    expect(calls.filter((c) => c.expected === 'AGREEMENT_REQUIRED')).toHaveLength(3);
  });

  it('gives each sampled pair a served fetch, stream and invocation and one refusal', () => {
    for (let pair = 0; pair < 12; pair++) {
      const calls = planPair(CATALOG, 'sampled', pair);
      const served = calls.filter((c) => c.expected === 'allowed').map((c) => c.kind);
      expect(served.sort()).toEqual(['fetch', 'invoke', 'stream']);
      expect(calls.filter((c) => c.expected !== 'allowed')).toHaveLength(1);
    }
  });

  it('covers every entry of a provider across its consumers when sampling', () => {
    const called = new Set<string>();
    for (let pair = 0; pair < 26; pair++) for (const c of planPair(CATALOG, 'sampled', pair)) called.add(c.entry.id);
    expect([...called].sort()).toEqual(CATALOG.map((e) => e.id).sort());
  });
});
