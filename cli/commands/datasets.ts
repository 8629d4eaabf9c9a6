import { createReadStream, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { systemClock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/index.js';
import { readNodeCity } from '../../nodes/catalog/index.js';
import { IMPORT_FORMATS, type ImportFormat, importFormatOf, importRecords } from '../../nodes/datasets/index.js';
import { nodePath } from '../../nodes/trust/node-files.js';
import { openSqliteStores } from '../../stores/index.js';
import type { CliIo } from '../io.js';

type ImportCliOptions = { dir: string; format?: ImportFormat; idField?: string; maxBadRows: string };

/** `citymesh datasets ...`: load records into a dataset the node publishes. */
export function registerDatasetsCommands(program: Command, io: CliIo): void {
  const datasets = program.command('datasets').description("records of a city node's datasets");

  datasets
    .command('import')
    .description('import CSV or NDJSON rows, checked against the record schema; any bad row and nothing is written')
    .argument('<dataset>', 'dataset id <cluster>/<city>/<org>/<name>[@version] (default: the latest version)')
    .argument('<file>', 'the rows: .csv (header on line 1), .ndjson or .jsonl')
    .requiredOption('--dir <dir>', 'the node folder')
    .addOption(new Option('--format <format>', 'the file format (default: from the extension)').choices(IMPORT_FORMATS))
    .option('--id-field <name>', 'field or column holding record ids: re-importing the same rows then changes nothing')
    .option('--max-bad-rows <n>', 'bad rows to list', '100')
    .action(async (datasetId: string, file: string, opts: ImportCliOptions) => {
      const dir = resolve(opts.dir);
      const node = readNodeCity(dir);
      const format = opts.format ?? importFormatOf(file);
      if (!existsSync(file))
        throw new MeshError('MALFORMED_REQUEST', `no file ${file} to import`, { details: { field: 'file' } });
      const stores = openSqliteStores(nodePath(dir, 'store'));
      try {
        const report = await importRecords(
          { catalog: stores.catalog, records: stores.records, clock: systemClock },
          {
            node,
            datasetId,
            format,
            source: createReadStream(file),
            ...(opts.idField === undefined ? {} : { idField: opts.idField }),
            maxBadRows: Math.max(1, Number.parseInt(opts.maxBadRows, 10) || 100),
            progressEveryRows: 100_000,
            onProgress: (p) => {
              if (!p.done) io.err(`${p.rows} rows read (${p.rowsPerSecond} rows/s)\n`);
            },
          },
        );
        if (report.rejected === 0) {
          io.out(
            `imported ${report.accepted} records into ${report.datasetId} (schema ${report.version}; ${report.unchanged} unchanged; ${report.rows} rows read)\n`,
          );
          return;
        }
        for (const bad of report.badRows) io.err(`${file}:${bad.line}: ${bad.message} [${bad.reason}]\n`);
        const unlisted = report.rejected - report.badRows.length;
        if (unlisted > 0) io.err(`... and ${unlisted} more bad rows\n`);
        const first = report.badRows[0];
        throw new MeshError(
          first?.reason ?? 'SCHEMA_VIOLATION',
          `${report.rejected} of ${report.rows} rows of ${file} are bad; nothing was imported into ${report.datasetId}`,
          { details: { datasetId: report.datasetId, rejected: report.rejected, firstLine: first?.line ?? null } },
        );
      } finally {
        await stores.close();
      }
    });
}
