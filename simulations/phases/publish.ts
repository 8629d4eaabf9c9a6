import { join } from 'node:path';
import { getCity } from '../../common/ids/index.js';
import { expectThat } from '../checks.js';
import { mapPool, unwrap } from '../pool.js';
import { runCliSession } from '../processes.js';
import type { SimulationRun } from '../run-state.js';
import { SAMPLE_DATASETS, writeSampleCatalog } from '../samples/index.js';
import { catalogChecks } from './catalog.js';

/** Offices at work and nodes starting at once: each is a CPU-bound process on 2 cores. */
const CONCURRENCY = 2;

/** The commands a city's data office runs in one sitting: publish, import, register the app. */
function officeCommands(run: SimulationRun, city: string): string[][] {
  const files = writeSampleCatalog(join(run.work, 'samples', city), run.init.cluster, city);
  return [
    ['catalog', 'publish', files.manifest, '--dir', city],
    ...files.imports.map((item) => [
      'datasets',
      'import',
      item.datasetId,
      item.file,
      '--dir',
      city,
      '--id-field',
      'id',
    ]),
    [
      ...['apps', 'add', '--dir', city, '--id', 'sim-app', '--org', 'city-data-office', '--industry', 'transport'],
      ...['--region', getCity(city).region, '--out', join('apps', city)],
    ],
  ];
}

/**
 * Each city's data office publishes its sample catalog (datasets in eight industries,
 * all four classifications, two capabilities), imports the records and registers the
 * app the simulation calls through; then every node starts as its own process and the
 * catalog is searched across the cluster.
 */
export async function publishPhase(run: SimulationRun): Promise<void> {
  const cities = run.active();
  const industries = new Set(SAMPLE_DATASETS.map((d) => d.industry)).size;
  const office = run.progress.phase('publish', cities.length, 'cities published');
  const published = await mapPool(cities, CONCURRENCY, async (city) => {
    const results = await runCliSession(officeCommands(run, city), run.work);
    office.tick();
    return `${results.length - 2} datasets in ${industries} industries with records and 2 capabilities published; app sim-app registered`;
  });
  for (const [i, city] of cities.entries()) {
    if (!(await run.checks.check(`publish.${city}`, () => unwrap(published[i]!)))) {
      run.impaired.set(city, 'publishing failed');
    }
  }
  office.done();

  const ready = run.active();
  const serve = run.progress.phase('serve', ready.length, 'nodes serving');
  const started = await mapPool(ready, CONCURRENCY, async (city) => {
    const pid = await run.startNode(city);
    serve.tick();
    return pid;
  });
  serve.done();
  await run.checks.check('nodes.serving', () => {
    const failed = ready.flatMap((city, i) => {
      const s = started[i]!;
      if (s.status === 'fulfilled') return [];
      run.impaired.set(city, 'its node did not start');
      return [`${city}: ${s.reason instanceof Error ? s.reason.message : String(s.reason)}`];
    });
    expectThat(failed.length === 0, `not serving: ${failed.join('; ')}`);
    const pids = ready.map((c) => run.pid(c)).join(', ');
    return `${ready.length} nodes serving mTLS gRPC, each a separate process (${pids})`;
  });
  if (run.serving().length >= 2) await catalogChecks(run);
}
