import { describe, expect, it } from 'vitest';
import { SCENARIO_NAMES, SCENARIOS, selectScenarios } from '../../simulations/scenarios.js';
import { SimulationUsageError } from '../../simulations/usage-error.js';

describe('selectScenarios', () => {
  it('runs the default set when nothing is asked for', () => {
    expect(selectScenarios([])).toEqual(SCENARIOS.filter((s) => s.inDefault).map((s) => s.name));
    expect(selectScenarios(['default'])).toEqual(selectScenarios([]));
  });

  it('runs every scenario, in run order, for all', () => {
    expect(selectScenarios(['all'])).toEqual([...SCENARIO_NAMES]);
  });

  it('adds what a scenario needs and keeps run order whatever order they were asked in', () => {
    expect(selectScenarios(['revoke'])).toEqual(['enrol', 'publish', 'revoke']);
    expect(selectScenarios(['audit'])).toEqual(['enrol', 'publish', 'exchange', 'audit']);
    expect(selectScenarios(['revoke,partition', 'rollover'])).toEqual([
      'enrol',
      'publish',
      'partition',
      'rollover',
      'revoke',
    ]);
  });

  it('keeps enrol alone when only enrol is asked for', () => {
    expect(selectScenarios(['enrol'])).toEqual(['enrol']);
  });

  it('runs the revocation after every other fault and the audit last', () => {
    const all = selectScenarios(['all']);
    expect(all.indexOf('revoke')).toBe(all.length - 2);
    expect(all.at(-1)).toBe('audit');
  });

  it('refuses an unknown name, naming it and the closest valid one', () => {
    expect(() => selectScenarios(['partiton'])).toThrow(SimulationUsageError);
    expect(() => selectScenarios(['enrol,partiton'])).toThrow(
      /"partiton" is not a scenario \(did you mean "partition"\?\)/,
    );
    expect(() => selectScenarios(['nonsense'])).toThrow(/choose from all, default, enrol/);
  });
});
