import { Command, CommanderError } from 'commander';
import { MeshError } from '../common/errors/index.js';
import pkg from '../package.json' with { type: 'json' };
import type { CliIo } from './io.js';
import { processIo } from './io.js';

const VERSION = pkg.version;

type Register = (program: Command, io: CliIo, setExitCode: (code: number) => void) => void;

/**
 * Every top-level command and how to load the module that adds it, in `--help` order.
 * Each module pulls in its component's code (node runtime, OIDC provider, libp2p, ...),
 * seconds of start-up all together, so `run` loads only the one a command line names.
 * test/cli/program.test.ts checks this table against cli/commands/.
 */
export const COMMAND_GROUPS: Readonly<Record<string, () => Promise<Register>>> = {
  accounts: async () => (await import('./commands/accounts.js')).registerAccountsCommands,
  agreements: async () => {
    const { registerAgreementsCommands } = await import('./commands/agreements.js');
    return (program, io) => registerAgreementsCommands(program, io);
  },
  anchor: async () => (await import('./commands/anchor.js')).registerAnchorCommands,
  apps: async () => (await import('./commands/apps.js')).registerAppsCommands,
  audit: async () => (await import('./commands/audit.js')).registerAuditCommands,
  client: async () => (await import('./commands/client.js')).registerClientCommands,
  clients: async () => (await import('./commands/clients.js')).registerClientsCommands,
  catalog: async () => (await import('./commands/catalog.js')).registerCatalogCommands,
  config: async () => (await import('./commands/config.js')).registerConfigCommands,
  datasets: async () => (await import('./commands/datasets.js')).registerDatasetsCommands,
  devices: async () => (await import('./commands/devices.js')).registerDevicesCommands,
  errors: async () => (await import('./commands/errors.js')).registerErrorsCommand,
  grants: async () => (await import('./commands/grants.js')).registerGrantsCommands,
  ids: async () => (await import('./commands/ids.js')).registerIdsCommands,
  node: async () => (await import('./commands/node.js')).registerNodeCommands,
  oidc: async () => (await import('./commands/oidc.js')).registerOidcCommands,
  policy: async () => (await import('./commands/policy.js')).registerPolicyCommands,
  regions: async () => (await import('./commands/regions.js')).registerRegionsCommands,
  simulate: async () => (await import('./commands/simulate.js')).registerSimulateCommand,
  store: async () => (await import('./commands/store.js')).registerStoreCommands,
};

/**
 * Builds the `citymesh` command tree with the given top-level commands (keys of
 * {@link COMMAND_GROUPS}, all by default). Each component adds its group in cli/commands/.
 */
export async function buildProgram(
  io: CliIo = processIo,
  setExitCode: (code: number) => void = () => {},
  commands: readonly string[] = Object.keys(COMMAND_GROUPS),
): Promise<Command> {
  const program = new Command('citymesh')
    .description('citymesh: federated identity and data exchange across the cities of a cluster')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError()
    // Commands created below inherit these settings, so every level reports errors alike.
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  for (const name of commands) {
    const load = COMMAND_GROUPS[name];
    if (load === undefined) throw new Error(`no citymesh command ${name}`);
    // One after the other, so modules evaluate in the order the static imports had.
    (await load())(program, io, setExitCode);
  }
  return program;
}

/**
 * The top-level commands a command line needs. Commander dispatches to the command its
 * first argument names, and prints `-V` as soon as it reads it, before any command; no
 * command, help or a typo (for "did you mean") gets the whole tree.
 */
function commandsFor(argv: readonly string[]): readonly string[] | undefined {
  const first = argv[2];
  if (first === '-V' || first === '--version') return [];
  return first !== undefined && Object.hasOwn(COMMAND_GROUPS, first) ? [first] : undefined;
}

/**
 * Runs the CLI and returns the exit code: 0 success, 1 a failure the command reports
 * (`citymesh: <message> [<REASON>]`) or a run whose checks failed, 2 a usage error.
 */
export async function run(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let exitCode = 0;
  const setExitCode = (code: number) => {
    exitCode = code;
  };
  try {
    const program = await buildProgram(io, setExitCode, commandsFor(argv));
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
