import { resolve } from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../../common/clock.js';
import { addGrant, describeRule, grantRules, NodePolicy } from '../../nodes/policy/index.js';
import { type CliIo, printJson } from '../io.js';
import { openNodeFolder } from '../node-folder.js';

type AddOptions = {
  dir: string;
  city: string;
  resource: string;
  action: string[];
  maxClassification: string;
  purpose?: string[];
  id?: string;
  by: string;
};

/** `citymesh grants ...`: which other cities this city lets read or invoke what (rules of its grants.csv). */
export function registerGrantsCommands(program: Command, io: CliIo): void {
  const grants = program
    .command('grants')
    .description(
      "this city's cross-city grants: allow rules of its policy set's grants.csv, published signed to peers",
    );

  grants
    .command('add')
    .description('let a city (or * for every other member) act on resources of this city up to a classification')
    .requiredOption('--dir <dir>', 'the node folder')
    .requiredOption('--city <city>', 'consumer city, or * for every other member city')
    .requiredOption('--resource <pattern>', 'a resource id, or a prefix ending in * (jjj/beijing/transport/*)')
    .requiredOption('--action <action...>', 'read, subscribe, invoke, publish, administer')
    .requiredOption('--max-classification <c>', 'public, internal, sensitive or restricted')
    .option('--purpose <purpose...>', 'only for these purposes')
    .option('--id <id>', 'rule id (default grant-<city>-<n>)')
    .option('--by <subject>', 'who is making the change, for the version history', process.env['USER'] ?? 'operator')
    .action(async (opts: AddOptions) => {
      const dir = resolve(opts.dir);
      const { stores } = openNodeFolder(dir);
      try {
        const done = await addGrant(
          dir,
          stores,
          {
            city: opts.city,
            resource: opts.resource,
            actions: opts.action as never,
            maxClassification: opts.maxClassification as never,
            ...(opts.purpose ? { purposes: opts.purpose } : {}),
            ...(opts.id ? { id: opts.id } : {}),
          },
          { subject: opts.by, now: systemClock.now() },
        );
        io.out(`added grant ${done.id}; policy version ${done.change.version} is in force\n`);
        for (const sentence of done.sentences) io.out(`  ${sentence}\n`);
      } finally {
        await stores.close();
      }
    });

  grants
    .command('list')
    .description('list the grants in force, as written and in words')
    .requiredOption('--dir <dir>', 'the node folder')
    .action(async (opts: { dir: string }) => {
      const dir = resolve(opts.dir);
      const { stores } = openNodeFolder(dir);
      try {
        const policy = await NodePolicy.open(stores.policies, dir, systemClock);
        printJson(io, {
          policyVersion: policy.version,
          grants: grantRules(policy.snapshot.rules).map((rule) => ({
            id: rule.id,
            rule: `p, ${Object.values(rule.cells).join(', ')}`,
            sentence: describeRule(rule),
            at: `${rule.file}:${rule.line}`,
          })),
        });
      } finally {
        await stores.close();
      }
    });
}
