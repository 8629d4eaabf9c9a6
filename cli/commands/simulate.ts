import { resolve } from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../../common/clock.js';
import { runLocalCluster } from '../../simulations/local-cluster.js';
import { renderSummary, writeReport } from '../../simulations/report.js';
import type { CliIo } from '../io.js';

/** `citymesh simulate`: the local city cluster job (`npm start`). */
export function registerSimulateCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('simulate')
    .description('run a local city cluster on the embedded store and check it end to end')
    .option('--cluster <name>', 'bundled cluster: jjj, prd or yrd', 'jjj')
    .option('--cities <n>', 'how many of its cities', (v) => Number.parseInt(v, 10), 3)
    .option('--work-dir <dir>', 'where the anchor and cities keep their stores (emptied first)', '.citymesh')
    .option('--base-port <port>', 'anchor port; cities use the ports above it', (v) => Number.parseInt(v, 10), 7100)
    .option('--report <file>', 'write the JSON report (contract: ARCHITECTURE.md "Contracts")')
    .action(async (opts: { cluster: string; cities: number; workDir: string; basePort: number; report?: string }) => {
      const report = await runLocalCluster({
        cluster: opts.cluster,
        cities: opts.cities,
        workDir: resolve(opts.workDir),
        basePort: opts.basePort,
        clock: systemClock,
        onCheck: (c) => io.err(`${c.passed ? '✓' : '✗'} ${c.name}\n`),
      });
      io.out(renderSummary(report));
      if (opts.report) {
        writeReport(opts.report, report);
        io.out(`report written to ${opts.report}\n`);
      }
      if (!report.passed) setExitCode(1);
    });
}
