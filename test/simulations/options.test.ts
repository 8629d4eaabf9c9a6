import { describe, expect, it } from 'vitest';
import { cityPort, planSimulation } from '../../simulations/options.js';
import { SimulationUsageError } from '../../simulations/usage-error.js';

describe('planSimulation', () => {
  it('simulates three cities of Beijing–Tianjin–Hebei without options', () => {
    const plan = planSimulation({});
    expect(plan.cluster).toBe('jjj');
    expect(plan.cities.map((c) => c.id)).toEqual(['beijing', 'tianjin', 'shijiazhuang']);
    expect(plan.basePort).toBe(7100);
    expect(plan.anchorDownSeconds).toBe(3);
    expect(plan.faults).toEqual([]);
  });

  it('takes every city of a cluster named with --cluster, with their region codes', () => {
    const yrd = planSimulation({ cluster: 'yrd' });
    expect(yrd.cities).toHaveLength(27);
    expect(yrd.cities[0]).toMatchObject({ id: 'shanghai', region: '310000' });
    expect(planSimulation({ cluster: 'prd' }).cities).toHaveLength(11);
    expect(planSimulation({ cluster: 'jjj' }).cities).toHaveLength(13);
    expect(planSimulation({ cluster: 'yrd', cities: '6' }).cities).toHaveLength(6);
  });

  it('refuses a city count outside 2 to the size of the cluster, naming the range', () => {
    for (const cities of ['1', '14', 'three', '2.5', '']) {
      expect(() => planSimulation({ cluster: 'jjj', cities })).toThrow(
        /--cities must be a whole number from 2 to 13 for cluster jjj/,
      );
    }
  });

  it('refuses an unknown cluster with the bundled ones and a suggestion', () => {
    expect(() => planSimulation({ cluster: 'yr' })).toThrow(SimulationUsageError);
    expect(() => planSimulation({ cluster: 'jj' })).toThrow(
      /"jj" is not a bundled cluster \(did you mean "jjj"\?\); choose jjj, prd, yrd/,
    );
  });

  it('parses the wrong-anchor-key drill for a simulated city only', () => {
    expect(planSimulation({ fault: ['wrong-anchor-key=tianjin'] }).faults).toEqual([
      { kind: 'wrong-anchor-key', city: 'tianjin' },
    ]);
    expect(() => planSimulation({ fault: ['wrong-anchor-key=tangshan'] })).toThrow(
      /"tangshan" is not one of the simulated cities \(beijing, tianjin, shijiazhuang\)/,
    );
    expect(() => planSimulation({ fault: ['wrong-anchor=tianjin'] })).toThrow(
      /not a known fault \(did you mean "wrong-anchor-key"\?\)/,
    );
    expect(() => planSimulation({ fault: ['wrong-anchor-key=tianjin', 'wrong-anchor-key=tianjin'] })).toThrow(
      /given twice/,
    );
  });

  it('checks the anchor downtime and the base port', () => {
    expect(planSimulation({ anchorDownSeconds: '10' }).anchorDownSeconds).toBe(10);
    expect(() => planSimulation({ anchorDownSeconds: '0' })).toThrow(
      /--anchor-down-seconds must be a whole number from 1 to 300/,
    );
    expect(() => planSimulation({ basePort: '65500' })).toThrow(
      /--base-port must be a whole number from 1024 to 65255/,
    );
    expect(planSimulation({ basePort: '7600' }).basePort).toBe(7600);
  });

  it('lays city ports out ten apart above the anchor, 27 cities below base + 280', () => {
    expect(cityPort(7600, 0)).toBe(7610);
    expect(cityPort(7600, 26) + 2).toBeLessThan(7600 + 280);
  });
});
