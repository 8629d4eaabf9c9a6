import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../../common/clock.js';
import { renderReportHtml } from '../../simulations/html/render-report.js';
import { planSimulation, type SimulateArgs } from '../../simulations/options.js';
import { renderSummary, writeReport } from '../../simulations/report.js';
import { SCENARIOS } from '../../simulations/scenarios.js';
import { SimulationUsageError } from '../../simulations/usage-error.js';
import type { CliIo } from '../io.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

function scenarioHelp(): string {
  const width = Math.max(...SCENARIOS.map((s) => s.name.length));
  const rows = SCENARIOS.map(
    (s) =>
      `  ${s.name.padEnd(width)}  ${s.inDefault ? '*' : ' '} ${s.summary}${s.needs.length ? ` (needs ${s.needs.join(', ')})` : ''}`,
  );
  return [
    '',
    'Scenarios, in the order they run (* = part of `default`; `all` = every one):',
    ...rows,
    '',
    'Faults (drills): wrong-anchor-key=<city>  after enrolment the city pins a key the anchor never had',
    '',
    'Examples:',
    '  citymesh simulate                                  3 cities of jjj, default scenarios',
    '  citymesh simulate --cluster yrd --html r.html      all 27 cities of the Yangtze River Delta',
    '  citymesh simulate --scenario partition,rollover    enrol, publish, then those two',
  ].join('\n');
}

/** `citymesh simulate`: the city-cluster simulation (`npm start`). */
export function registerSimulateCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('simulate')
    .description('run a city cluster on loopback (anchor and cities as processes) and check it end to end')
    .option('--cluster <name>', 'bundled cluster: jjj, prd or yrd (default jjj, 3 cities)')
    .option('--cities <n>', 'how many of its cities, in its order (default: 3 without --cluster, else all)')
    .option('--scenario <names>', 'scenarios to run, repeatable or comma-separated; all; default', collect)
    .option('--fault <fault>', 'a drill, repeatable: wrong-anchor-key=<city>', collect)
    .option('--anchor-down-seconds <s>', 'how long the anchor-down scenario keeps the anchor stopped (default 3)')
    .option('--work-dir <dir>', 'where the anchor and cities keep their stores (emptied first)', '.citymesh')
    .option('--base-port <port>', 'anchor port; city i uses base + 10(i+1) and the two ports after it (default 7100)')
    .option('--report <file>', 'write the JSON report (contract: ARCHITECTURE.md "Contracts")')
    .option('--html <file>', 'write the report as a self-contained HTML page with charts')
    .addHelpText('after', scenarioHelp())
    .action(async (opts: SimulateArgs & { workDir: string; report?: string; html?: string }, command: Command) => {
      let plan: ReturnType<typeof planSimulation>;
      try {
        plan = planSimulation(opts);
      } catch (err) {
        if (err instanceof SimulationUsageError) command.error(`error: ${err.message}`, { exitCode: 2 });
        throw err;
      }
      io.err(
        `simulating ${plan.cities.length} cities of ${plan.cluster} (${plan.clusterName}): ${plan.scenarios.join(', ')}\n`,
      );
      // The run itself (anchor, nodes, every phase) loads only now: usage errors and --help stay quick.
      const { runSimulation } = await import('../../simulations/run-simulation.js');
      const { stopAllChildren } = await import('../../simulations/processes.js');
      // Told to stop (a terminal's Ctrl-C, a supervisor's or CI's SIGTERM): the anchor and
      // nodes are this run's processes, so they stop with it instead of holding their ports.
      for (const [signal, code] of [
        ['SIGINT', 130],
        ['SIGTERM', 143],
      ] as const) {
        process.once(signal, () => {
          io.err(`\n${signal}: stopping the anchor and nodes\n`);
          void stopAllChildren('SIGTERM').finally(() => process.exit(code));
        });
      }
      const report = await runSimulation({
        ...plan,
        workDir: resolve(opts.workDir),
        clock: systemClock,
        onCheck: (c) => io.err(`${c.passed ? '✓' : '✗'} ${c.name}${c.passed ? '' : `: ${c.detail}`}\n`),
        onProgress: (line) => io.err(line),
      });
      io.out(renderSummary(report));
      if (opts.report) {
        writeReport(opts.report, report);
        io.out(`report written to ${opts.report}\n`);
      }
      if (opts.html) {
        mkdirSync(dirname(resolve(opts.html)), { recursive: true });
        writeFileSync(opts.html, renderReportHtml(report));
        io.out(`HTML report written to ${opts.html}\n`);
      }
      if (!report.passed) setExitCode(1);
    });
}
