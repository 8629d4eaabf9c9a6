import type { Command } from 'commander';
import {
  ancestorsOf,
  districtsOf,
  getCluster,
  levelOf,
  listClusters,
  parseRegionCode,
} from '../../common/ids/index.js';
import { type CliIo, printJson } from '../io.js';

/** `citymesh regions`: administrative region codes, levels and the bundled clusters. */
export function registerRegionsCommands(program: Command, io: CliIo): void {
  const regions = program.command('regions').description('administrative regions (GB/T 2260 codes) and city clusters');
  regions
    .command('describe')
    .description('show the level and the ancestors of a region code (6, 9 or 12 digits)')
    .argument('<code>', 'the region code')
    .action((code: string) => {
      const region = parseRegionCode(code);
      printJson(io, {
        code: region,
        level: levelOf(region),
        ancestors: ancestorsOf(region).map((a) => ({ code: a, level: levelOf(a) })),
      });
    });
  regions
    .command('clusters')
    .description('list the bundled city clusters and their cities')
    .argument('[cluster]', 'one cluster (jjj, prd, yrd) with its cities and districts')
    .action((name?: string) => {
      if (name === undefined) {
        printJson(
          io,
          listClusters().map((c) => ({ id: c.id, name: c.name, cities: c.cities.length })),
        );
        return;
      }
      const cluster = getCluster(name);
      printJson(io, {
        ...cluster,
        cities: cluster.cities.map((c) => ({ ...c, districts: districtsOf(c.id).length })),
      });
    });
}
