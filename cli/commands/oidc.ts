import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { systemClock } from '../../common/clock.js';
import { rotateOidcKey } from '../../nodes/oidc/key-rollover.js';
import { nodePath } from '../../nodes/trust/node-files.js';
import { openSqliteStores } from '../../stores/index.js';
import { type CliIo, printJson } from '../io.js';

/** `citymesh oidc ...`: the city OpenID Provider's signing keys. */
export function registerOidcCommands(program: Command, io: CliIo): void {
  const oidc = program.command('oidc').description("the city OpenID Provider's signing keys");
  oidc
    .command('rotate')
    .description('two-stage rollover of the OIDC signing key; a running node picks it up at its next refresh')
    .requiredOption('--dir <dir>', 'the node folder')
    .addOption(
      new Option('--stage <stage>', 'publish the next key, then (an hour later) activate it')
        .choices(['publish', 'activate'])
        .makeOptionMandatory(),
    )
    .option('--force', 'activate before peers can have seen the next key (a compromised key)')
    .action(async (opts: { dir: string; stage: 'publish' | 'activate'; force?: boolean }) => {
      const stores = openSqliteStores(nodePath(resolve(opts.dir), 'store'));
      try {
        const r = await rotateOidcKey(stores.keys, opts.stage, systemClock.now(), { force: opts.force === true });
        printJson(io, { stage: opts.stage, kid: r.kid });
      } finally {
        await stores.close();
      }
    });
}
