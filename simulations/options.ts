import { type CityInfo, getCluster, listClusters } from '../common/ids/index.js';
import { type ScenarioName, selectScenarios } from './scenarios.js';
import { SimulationUsageError, suggest } from './usage-error.js';

/** Cities when `--cluster` is not given: three of Beijing–Tianjin–Hebei. */
export const DEFAULT_CLUSTER = 'jjj';
export const DEFAULT_CITIES = 3;
export const DEFAULT_BASE_PORT = 7100;
export const DEFAULT_ANCHOR_DOWN_SECONDS = 3;
/** City i uses `basePort + 10 (i + 1)` and the next two ports: 27 cities end below base + 280. */
export const PORT_SPAN = 280;

/** A drill: something deliberately broken so the run shows how it is caught. */
export type Fault = { readonly kind: 'wrong-anchor-key'; readonly city: string };
const FAULT_KINDS = ['wrong-anchor-key'] as const;

/** `citymesh simulate` options as typed; strings where the command line gives strings. */
export interface SimulateArgs {
  readonly cluster?: string;
  readonly cities?: string;
  readonly scenario?: readonly string[];
  readonly fault?: readonly string[];
  readonly anchorDownSeconds?: string;
  readonly basePort?: string;
}

/** Checked options of a run. */
export interface SimulationPlan {
  readonly cluster: string;
  readonly clusterName: string;
  readonly cities: readonly CityInfo[];
  readonly scenarios: readonly ScenarioName[];
  readonly faults: readonly Fault[];
  readonly anchorDownSeconds: number;
  readonly basePort: number;
}

function wholeNumber(option: string, text: string, min: number, max: number, what: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new SimulationUsageError(`${option} must be a whole number from ${min} to ${max}${what} (got "${text}")`);
  }
  return value;
}

function parseFault(text: string, cities: readonly CityInfo[]): Fault {
  const [kind = '', city = ''] = text.split('=', 2).map((s) => s.trim());
  if (!FAULT_KINDS.includes(kind as (typeof FAULT_KINDS)[number])) {
    throw new SimulationUsageError(
      `--fault "${text}" is not a known fault${suggest(kind, FAULT_KINDS)}; known: wrong-anchor-key=<city>`,
    );
  }
  const names = cities.map((c) => c.id as string);
  if (!names.includes(city)) {
    throw new SimulationUsageError(
      `--fault ${kind}=${city || '<city>'}: "${city}" is not one of the simulated cities${suggest(city, names)} (${names.join(', ')})`,
    );
  }
  return { kind: 'wrong-anchor-key', city };
}

/**
 * Checks the options of `citymesh simulate` and fills the defaults: without `--cluster`,
 * three cities of `jjj`; with it, every city of that cluster unless `--cities` says fewer.
 *
 * @throws SimulationUsageError naming the option and what it accepts
 */
export function planSimulation(args: SimulateArgs): SimulationPlan {
  const clusterIds = listClusters().map((c) => c.id as string);
  const clusterId = args.cluster?.trim() ?? DEFAULT_CLUSTER;
  if (!clusterIds.includes(clusterId)) {
    throw new SimulationUsageError(
      `--cluster "${clusterId}" is not a bundled cluster${suggest(clusterId, clusterIds)}; choose ${clusterIds.join(', ')}`,
    );
  }
  const cluster = getCluster(clusterId);
  const all = cluster.cities.length;
  const count =
    args.cities === undefined
      ? args.cluster === undefined
        ? DEFAULT_CITIES
        : all
      : wholeNumber('--cities', args.cities, 2, all, ` for cluster ${cluster.id}`);
  const cities = cluster.cities.slice(0, count);
  const faults = (args.fault ?? []).map((f) => parseFault(f, cities));
  const twice = faults.find((f, i) => faults.findIndex((g) => g.city === f.city) !== i);
  if (twice) throw new SimulationUsageError(`--fault ${twice.kind}=${twice.city} is given twice`);
  return {
    cluster: cluster.id,
    clusterName: cluster.name,
    cities,
    scenarios: selectScenarios(args.scenario ?? []),
    faults,
    anchorDownSeconds:
      args.anchorDownSeconds === undefined
        ? DEFAULT_ANCHOR_DOWN_SECONDS
        : wholeNumber('--anchor-down-seconds', args.anchorDownSeconds, 1, 300, ' seconds'),
    basePort:
      args.basePort === undefined
        ? DEFAULT_BASE_PORT
        : wholeNumber(
            '--base-port',
            args.basePort,
            1024,
            65_535 - PORT_SPAN,
            ` (cities use up to base + ${PORT_SPAN})`,
          ),
  };
}

/** The gRPC port of city `index` (0-based); HTTPS is the next port, gossip the one after. */
export function cityPort(basePort: number, index: number): number {
  return basePort + 10 * (index + 1);
}
