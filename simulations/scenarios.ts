import { SimulationUsageError, suggest } from './usage-error.js';

/** The phases a simulation can run, in the order they run. */
export const SCENARIO_NAMES = [
  'enrol',
  'publish',
  'exchange',
  'anchor-down',
  'kill-node',
  'partition',
  'rollover',
  'revoke',
  'audit',
] as const;

export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** What a scenario needs and does, for selection and for `--help`. */
export interface ScenarioSpec {
  readonly name: ScenarioName;
  /** Scenarios that must run first; added automatically. */
  readonly needs: readonly ScenarioName[];
  /** Part of `default`: what fits in about a minute for three cities. */
  readonly inDefault: boolean;
  readonly summary: string;
}

/**
 * The scenario table, in run order. Faults that leave the cluster changed for good come
 * late (revocation last), and the audit comes after them so it verifies what they left.
 */
export const SCENARIOS: readonly ScenarioSpec[] = [
  { name: 'enrol', needs: [], inDefault: true, summary: 'anchor up; every city joins; trust matrix' },
  {
    name: 'publish',
    needs: ['enrol'],
    inDefault: true,
    summary: 'sample catalogs in 8 industries, apps, nodes serving; cluster-wide search',
  },
  {
    name: 'exchange',
    needs: ['publish'],
    inDefault: true,
    summary: 'every ordered pair fetches, streams and invokes; denials as policy says',
  },
  {
    name: 'anchor-down',
    needs: ['publish'],
    inDefault: true,
    summary: 'anchor stopped: nodes serve on cached metadata; restart; every node converges',
  },
  {
    name: 'kill-node',
    needs: ['publish'],
    inDefault: true,
    summary: 'kill -9 a provider mid-stream: clean error; restart; audit verifies; serves again',
  },
  {
    name: 'partition',
    needs: ['publish'],
    inDefault: false,
    summary: 'SIGSTOP a node: calls fail fast; a change made meanwhile reaches it after SIGCONT',
  },
  {
    name: 'rollover',
    needs: ['publish'],
    inDefault: false,
    summary: 'anchor key rollover (publish, then forced activate): every node follows',
  },
  {
    name: 'revoke',
    needs: ['publish'],
    inDefault: true,
    summary: 'revoke a city: per node, when it refuses the city',
  },
  { name: 'audit', needs: ['exchange'], inDefault: true, summary: 'every audit chain verifies; both sides agree' },
];

const BY_NAME = new Map(SCENARIOS.map((s) => [s.name, s]));
const GROUPS = ['all', 'default'] as const;

function isScenario(name: string): name is ScenarioName {
  return BY_NAME.has(name as ScenarioName);
}

/**
 * The scenarios to run, in run order, from what the user asked for: names (repeated or
 * comma-separated), `all` or `default`; nothing asked means `default`. Each scenario
 * brings the ones it needs.
 *
 * @throws SimulationUsageError for an unknown name, with the closest valid one
 */
export function selectScenarios(requested: readonly string[]): ScenarioName[] {
  const names = requested
    .flatMap((r) => r.split(','))
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const wanted = new Set<ScenarioName>();
  for (const name of names.length === 0 ? ['default'] : names) {
    if (name === 'all' || name === 'default') {
      for (const s of SCENARIOS) if (name === 'all' || s.inDefault) wanted.add(s.name);
    } else if (isScenario(name)) {
      wanted.add(name);
    } else {
      const valid = [...GROUPS, ...SCENARIO_NAMES];
      throw new SimulationUsageError(
        `--scenario "${name}" is not a scenario${suggest(name, valid)}; choose from ${valid.join(', ')}`,
      );
    }
  }
  const visit = (name: ScenarioName): void => {
    for (const need of BY_NAME.get(name)!.needs) {
      if (!wanted.has(need)) {
        wanted.add(need);
        visit(need);
      }
    }
  };
  for (const name of [...wanted]) visit(name);
  return SCENARIO_NAMES.filter((n) => wanted.has(n));
}
