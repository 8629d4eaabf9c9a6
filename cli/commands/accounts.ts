import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../../common/clock.js';
import { createAccount } from '../../nodes/oidc/accounts.js';
import { openNodeOidcStore } from '../../nodes/oidc/node-store.js';
import type { CliIo } from '../io.js';

/** `citymesh accounts ...`: people who log in at this city's OIDC provider. */
export function registerAccountsCommands(program: Command, io: CliIo): void {
  const accounts = program.command('accounts').description("people who log in at this city's OIDC provider");

  accounts
    .command('add')
    .description('create an account (scrypt-hashed password); prints its subject id (sub)')
    .requiredOption('--dir <dir>', 'the node folder')
    .requiredOption('--username <name>', 'login name (a-z, 0-9, . _ @ -; case-insensitive)')
    .requiredOption('--password-file <file>', 'file holding the password (one trailing newline is ignored)')
    .requiredOption('--org <org>', 'organisation')
    .requiredOption('--industry <industry>', 'industry, e.g. transport')
    .requiredOption('--region <code>', 'GB/T 2260 region code the person acts for')
    .option('--level <level>', 'administrative level; default: from the region code')
    .option('--role <role...>', 'roles, e.g. data-steward', [])
    .action(
      async (opts: {
        dir: string;
        username: string;
        passwordFile: string;
        org: string;
        industry: string;
        region: string;
        level?: string;
        role: string[];
      }) => {
        // A file, never an argument: arguments end up in shell history and `ps` output.
        const password = readFileSync(resolve(opts.passwordFile), 'utf8').replace(/\r?\n$/, '');
        const store = openNodeOidcStore(resolve(opts.dir));
        try {
          const account = await createAccount(
            store,
            {
              username: opts.username,
              password,
              attributes: {
                org: opts.org,
                industry: opts.industry,
                region: opts.region,
                roles: opts.role,
                ...(opts.level ? { level: opts.level } : {}),
              },
            },
            systemClock.now(),
          );
          io.out(`${account.accountId}\n`);
        } finally {
          await store.close();
        }
      },
    );
}
