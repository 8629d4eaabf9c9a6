import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Clock } from '../common/clock.js';
import { districtsOf, getCluster, levelOf } from '../common/ids/index.js';
import type { Device } from '../common/stores/index.js';
import { loadNodeConfig } from '../nodes/config.js';
import { openSqliteStores } from '../stores/index.js';
import { CheckRecorder, expectThat } from './checks.js';
import type { CheckResult, SimulationReport } from './report.js';

/** Options of {@link runLocalCluster}. */
export interface LocalClusterInit {
  /** Bundled cluster: `jjj`, `prd` or `yrd`. */
  cluster: string;
  /** How many of its cities, in the cluster's order. */
  cities: number;
  /** Working directory; each city gets `<workDir>/<cluster>/<city>/`. */
  workDir: string;
  clock: Clock;
  /** Called as each check finishes: progress for the person watching. */
  onCheck?: (result: CheckResult) => void;
}

const BASE_PORT = 7100;
const SAMPLE_DEVICES = 200;

/**
 * The local cluster job. Today it prepares every city's embedded store and node
 * configuration and proves each store round-trips devices, catalog and records; the
 * anchor and node processes are added to this job as they land.
 */
export async function runLocalCluster(init: LocalClusterInit): Promise<SimulationReport> {
  const started = init.clock.nowMs();
  const cluster = getCluster(init.cluster);
  if (!Number.isInteger(init.cities) || init.cities < 1 || init.cities > cluster.cities.length) {
    throw new RangeError(`--cities must be between 1 and ${cluster.cities.length} for cluster ${cluster.id}`);
  }
  const cities = cluster.cities.slice(0, init.cities);
  const checks = new CheckRecorder(init.onCheck);

  for (const [i, city] of cities.entries()) {
    const dir = join(init.workDir, cluster.id, city.id);
    mkdirSync(dir, { recursive: true });
    const configFile = join(dir, 'node.yaml');
    await checks.check(`config.${city.id}`, () => {
      writeFileSync(configFile, stringify(nodeConfigFor(cluster.id, city.id, dir, BASE_PORT + i * 2)));
      const config = loadNodeConfig(configFile);
      return `node config valid: gRPC ${config.node.listen.port}, https ${config.node.listen.httpsPort}`;
    });
    await checks.check(`store.${city.id}`, async () => {
      const stores = openSqliteStores(join(dir, 'node.db'));
      try {
        const now = init.clock.now();
        const devices = sampleDevices(city.id, city.region, now);
        const first = await stores.devices.importBatch(devices);
        const again = await stores.devices.importBatch(devices);
        expectThat(
          again.inserted === 0 && again.unchanged === devices.length,
          `re-import was not idempotent: ${JSON.stringify(again)}`,
        );
        const counted = await stores.devices.count({ city: city.id });
        expectThat(counted === devices.length, `expected ${devices.length} devices, found ${counted}`);
        const id = `${cluster.id}/${city.id}/data-office/air-quality`;
        await stores.catalog.put({
          id,
          version: '1.0.0',
          kind: 'dataset',
          title: `${city.name} air quality`,
          description: 'hourly readings of the city air quality stations',
          ownerOrg: 'data-office',
          city: city.id,
          industry: 'environment',
          regionCode: city.region,
          level: levelOf(city.region),
          classification: 'public',
          schema: { type: 'object', properties: { station: { type: 'string' }, pm25: { type: 'number' } } },
          license: 'CC-BY-4.0',
          requiresAgreement: false,
          publishedAt: now,
        });
        const entry = await stores.catalog.get(id);
        expectThat(entry?.version === '1.0.0', `catalog entry ${id} did not read back`);
        return `${first.inserted + first.unchanged} devices (re-import idempotent), catalog entry ${id}`;
      } finally {
        await stores.close();
      }
    });
  }

  return {
    cluster: cluster.id,
    cities: cities.map((c) => c.id),
    trust: {},
    interop: {},
    checks: checks.results,
    metrics: {},
    startedAt: new Date(started).toISOString(),
    durationMs: init.clock.nowMs() - started,
    passed: checks.passed,
  };
}

function nodeConfigFor(cluster: string, city: string, dir: string, port: number): object {
  return {
    mode: 'development',
    node: {
      cluster,
      city,
      nodeName: 'n1',
      entityId: `https://localhost:${port + 1}`,
      anchorUrl: 'https://localhost:7000',
      listen: { host: '127.0.0.1', port, httpsPort: port + 1 },
      dataDir: dir,
      store: { kind: 'sqlite', path: join(dir, 'node.db') },
    },
  };
}

/** Devices spread over the city's districts (or the city itself when none are bundled). */
function sampleDevices(city: string, region: string, now: Date): Device[] {
  const districts = districtsOf(city).map((d) => d.code);
  const regions = districts.length > 0 ? districts : [region];
  const industries = ['environment', 'transport', 'public-safety', 'health'];
  return Array.from({ length: SAMPLE_DEVICES }, (_, i) => ({
    city,
    deviceId: `sensor-${String(i).padStart(5, '0')}`,
    type: 'air-quality-station',
    industry: industries[i % industries.length]!,
    regionCode: regions[i % regions.length]!,
    ownerOrg: 'data-office',
    status: 'active' as const,
    credentials: [],
    createdAt: now,
    updatedAt: now,
  }));
}
