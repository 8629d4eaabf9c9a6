import { Command, CommanderError } from 'commander';
import { MeshError } from '../common/errors/index.js';
import pkg from '../package.json' with { type: 'json' };
import { registerAccountsCommands } from './commands/accounts.js';
import { registerAgreementsCommands } from './commands/agreements.js';
import { registerAnchorCommands } from './commands/anchor.js';
import { registerAppsCommands } from './commands/apps.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerCatalogCommands } from './commands/catalog.js';
import { registerClientCommands } from './commands/client.js';
import { registerClientsCommands } from './commands/clients.js';
import { registerConfigCommands } from './commands/config.js';
import { registerDatasetsCommands } from './commands/datasets.js';
import { registerDevicesCommands } from './commands/devices.js';
import { registerErrorsCommand } from './commands/errors.js';
import { registerGrantsCommands } from './commands/grants.js';
import { registerIdsCommands } from './commands/ids.js';
import { registerNodeCommands } from './commands/node.js';
import { registerOidcCommands } from './commands/oidc.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerRegionsCommands } from './commands/regions.js';
import { registerSimulateCommand } from './commands/simulate.js';
import { registerStoreCommands } from './commands/store.js';
import type { CliIo } from './io.js';
import { processIo } from './io.js';

const VERSION = pkg.version;

/** Builds the `citymesh` command tree. Each component adds its group in cli/commands/. */
export function buildProgram(io: CliIo = processIo, setExitCode: (code: number) => void = () => {}): Command {
  const program = new Command('citymesh')
    .description('citymesh: federated identity and data exchange across the cities of a cluster')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError()
    // Commands created below inherit these settings, so every level reports errors alike.
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  registerAccountsCommands(program, io);
  registerAgreementsCommands(program, io);
  registerAnchorCommands(program, io);
  registerAppsCommands(program, io);
  registerAuditCommands(program, io);
  registerClientCommands(program, io);
  registerClientsCommands(program, io);
  registerCatalogCommands(program, io);
  registerConfigCommands(program, io);
  registerDatasetsCommands(program, io);
  registerDevicesCommands(program, io, setExitCode);
  registerErrorsCommand(program, io);
  registerGrantsCommands(program, io);
  registerIdsCommands(program, io);
  registerNodeCommands(program, io);
  registerOidcCommands(program, io);
  registerPolicyCommands(program, io);
  registerRegionsCommands(program, io);
  registerSimulateCommand(program, io, setExitCode);
  registerStoreCommands(program, io);
  return program;
}

/**
 * Runs the CLI and returns the exit code: 0 success, 1 a failure the command reports
 * (`citymesh: <message> [<REASON>]`) or a run whose checks failed, 2 a usage error.
 */
export async function run(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit through here with code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof MeshError) {
      io.err(`citymesh: ${err.message} [${err.code}]\n`);
      return 1;
    }
    io.err(`citymesh: unexpected failure: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
