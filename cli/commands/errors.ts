import type { Command } from 'commander';
import { ERROR_CODES, ERROR_REGISTRY, grpcStatusName, renderErrorsMarkdown } from '../../common/errors/index.js';
import type { CliIo } from '../io.js';

/** `citymesh errors`: the stable failure reasons, as a table or as the docs' markdown. */
export function registerErrorsCommand(program: Command, io: CliIo): void {
  program
    .command('errors')
    .description('list the stable failure reasons with their gRPC status')
    .option('--markdown', 'print the table of docs/errors.md')
    .action((opts: { markdown?: boolean }) => {
      if (opts.markdown) {
        io.out(`${renderErrorsMarkdown()}\n`);
        return;
      }
      const width = Math.max(...ERROR_CODES.map((c) => c.length));
      for (const code of ERROR_CODES) {
        const e = ERROR_REGISTRY[code];
        io.out(`${code.padEnd(width)}  ${grpcStatusName(e.status).padEnd(19)}  ${e.summary}\n`);
      }
    });
}
