import { resolve } from 'node:path';
import type { Command } from 'commander';
import { addGrant, readGrants } from '../../nodes/index.js';
import { type CliIo, printJson } from '../io.js';

/** `citymesh grants ...`: which other cities this city lets read or invoke what. */
export function registerGrantsCommands(program: Command, io: CliIo): void {
  const grants = program
    .command('grants')
    .description(
      "this city's cross-city grants (default deny; public data is open to members until you write your own)",
    );

  grants
    .command('add')
    .description('let a city (or * for every member) act on resources of this city up to a classification')
    .requiredOption('--dir <dir>', 'the node folder')
    .requiredOption('--city <city>', 'consumer city, or * for every member city')
    .requiredOption('--resource <pattern>', 'a resource id, or a prefix ending in * (jjj/beijing/transport/*)')
    .requiredOption('--action <action...>', 'read, subscribe, invoke, publish, administer')
    .requiredOption('--max-classification <c>', 'public, internal, sensitive or restricted')
    .option('--purpose <purpose...>', 'only for these purposes')
    .action(
      (opts: {
        dir: string;
        city: string;
        resource: string;
        action: string[];
        maxClassification: string;
        purpose?: string[];
      }) => {
        const all = addGrant(resolve(opts.dir), {
          city: opts.city,
          resource: opts.resource,
          actions: opts.action as never,
          maxClassification: opts.maxClassification as never,
          ...(opts.purpose ? { purposes: opts.purpose } : {}),
        });
        printJson(io, { grants: all });
      },
    );

  grants
    .command('list')
    .description('list the grants in force')
    .requiredOption('--dir <dir>', 'the node folder')
    .action((opts: { dir: string }) => printJson(io, { grants: readGrants(resolve(opts.dir)) }));
}
