import { resolve } from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../../common/clock.js';
import { parseIndustry } from '../../common/ids/index.js';
import type { CatalogEntry, CatalogFilter } from '../../common/stores/catalog-store.js';
import { parseManifest, publishManifest, readNodeCity } from '../../nodes/catalog/index.js';
import { nodePath } from '../../nodes/trust/node-files.js';
import { openSqliteStores } from '../../stores/index.js';
import { type CliIo, printJson } from '../io.js';

type ListOptions = {
  dir: string;
  industry?: string;
  kind?: CatalogEntry['kind'];
  classification?: CatalogEntry['classification'];
  text?: string;
  includeWithdrawn?: boolean;
};

/** `citymesh catalog ...`: publish a city's datasets and capabilities, list its catalog. */
export function registerCatalogCommands(program: Command, io: CliIo): void {
  const catalog = program.command('catalog').description("a city node's catalog of datasets and capabilities");

  catalog
    .command('publish')
    .description('publish the datasets and capabilities of a manifest (YAML or JSON); publishing again is a no-op')
    .argument('<manifest>', 'the manifest file (.yaml, .yml or .json)')
    .requiredOption('--dir <dir>', 'the node folder')
    .action(async (manifest: string, opts: { dir: string }) => {
      const dir = resolve(opts.dir);
      const parsed = parseManifest(manifest, readNodeCity(dir));
      const stores = openSqliteStores(nodePath(dir, 'store'));
      try {
        const result = await publishManifest({ catalog: stores.catalog, clock: systemClock, dir }, parsed);
        printJson(io, { manifest, ...result });
      } finally {
        await stores.close();
      }
    });

  catalog
    .command('list')
    .description('list the catalog entries of the node, every version, in id order')
    .requiredOption('--dir <dir>', 'the node folder')
    .option('--industry <id>', 'only entries of this industry')
    .option('--kind <kind>', 'only datasets or only capabilities (dataset|capability)')
    .option('--classification <c>', 'only entries of this classification')
    .option('--text <words>', 'only entries whose title or description contains this')
    .option('--include-withdrawn', 'list withdrawn versions too')
    .action(async (opts: ListOptions) => {
      const filter: CatalogFilter = {
        ...(opts.industry === undefined ? {} : { industry: parseIndustry(opts.industry, '--industry') }),
        ...(opts.kind === undefined ? {} : { kind: opts.kind }),
        ...(opts.classification === undefined ? {} : { classification: opts.classification }),
        ...(opts.text === undefined ? {} : { text: opts.text }),
        includeWithdrawn: opts.includeWithdrawn === true,
      };
      const stores = openSqliteStores(nodePath(resolve(opts.dir), 'store'));
      try {
        const entries: CatalogEntry[] = [];
        let pageToken: string | undefined;
        do {
          const page = await stores.catalog.list(filter, { pageSize: 1000, ...(pageToken ? { pageToken } : {}) });
          entries.push(...page.items);
          pageToken = page.nextPageToken;
        } while (pageToken !== undefined);
        printJson(
          io,
          entries.map(({ schema: _schema, ...entry }) => entry),
        );
      } finally {
        await stores.close();
      }
    });
}
