import { type Command, Option } from 'commander';
import { loadNodeConfig } from '../../nodes/config.js';
import { loadTrustAnchorConfig } from '../../trust-anchor/config.js';
import { type CliIo, printJson } from '../io.js';

const LOADERS = { anchor: loadTrustAnchorConfig, node: loadNodeConfig } as const;

/** `citymesh config check`: validate a service configuration file before deploying it. */
export function registerConfigCommands(program: Command, io: CliIo): void {
  const config = program.command('config').description('validate service configuration files');
  config
    .command('check')
    .description('validate a configuration file (YAML or JSON) and print it with defaults applied')
    .argument('<file>', 'the configuration file')
    .addOption(
      new Option('--service <service>', 'which service the file configures')
        .choices(Object.keys(LOADERS))
        .makeOptionMandatory(),
    )
    .action((file: string, opts: { service: keyof typeof LOADERS }) => {
      printJson(io, LOADERS[opts.service](file));
    });
}
