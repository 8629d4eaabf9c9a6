import { resolve } from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../../common/clock.js';
import { levelOf, parseRegionCode } from '../../common/ids/index.js';
import { REGION_LEVELS, type RegionLevel } from '../../common/ids/region-level.js';
import { issueAppCredentials } from '../../nodes/apps/app-credentials.js';
import { disableApp, readApps, registerApp } from '../../nodes/apps/app-registry.js';
import { nodePath } from '../../nodes/trust/node-files.js';
import { openSqliteStores } from '../../stores/index.js';
import { type CliIo, printJson } from '../io.js';

/** `citymesh apps ...`: the apps of this city that call through its node. */
export function registerAppsCommands(program: Command, io: CliIo): void {
  const apps = program.command('apps').description("register this city's apps and issue their mTLS credentials");

  apps
    .command('add')
    .description('register an app with its attributes and write its key and X.509-SVID to --out')
    .requiredOption('--dir <dir>', 'the node folder')
    .requiredOption('--id <clientId>', 'client id (a-z, 0-9, -)')
    .requiredOption('--org <org>', 'owning organisation')
    .requiredOption('--industry <industry>', 'industry the app works in, e.g. transport')
    .requiredOption('--region <code>', 'GB/T 2260 region code the app acts for')
    .option('--level <level>', `administrative level (${REGION_LEVELS.join(', ')}); default: from the region code`)
    .option('--role <role...>', 'roles, e.g. data-office', [])
    .option('--lifetime <hours>', 'certificate lifetime in hours', (v) => Number.parseInt(v, 10), 24)
    .requiredOption('--out <dir>', 'where to write the credentials (key, certificate, root, app.json)')
    .action(
      async (opts: {
        dir: string;
        id: string;
        org: string;
        industry: string;
        region: string;
        level?: RegionLevel;
        role: string[];
        lifetime: number;
        out: string;
      }) => {
        const dir = resolve(opts.dir);
        const region = parseRegionCode(opts.region, 'region');
        const now = systemClock.now();
        const app = registerApp(
          dir,
          {
            clientId: opts.id,
            org: opts.org,
            industry: opts.industry,
            level: opts.level ?? levelOf(region),
            regionCode: region,
            roles: opts.role,
          },
          now,
        );
        const stores = openSqliteStores(nodePath(dir, 'store'));
        try {
          const info = await issueAppCredentials({
            dir,
            keys: stores.keys,
            clientId: app.clientId,
            lifetimeHours: opts.lifetime,
            now,
            outDir: resolve(opts.out),
          });
          printJson(io, { ...app, ...info, credentials: resolve(opts.out) });
        } finally {
          await stores.close();
        }
      },
    );

  apps
    .command('list')
    .description('list the registered apps')
    .requiredOption('--dir <dir>', 'the node folder')
    .action((opts: { dir: string }) => printJson(io, readApps(resolve(opts.dir))));

  apps
    .command('disable')
    .description('refuse an app from its next call on, whatever its certificate says')
    .requiredOption('--dir <dir>', 'the node folder')
    .requiredOption('--id <clientId>', 'client id')
    .action((opts: { dir: string; id: string }) => {
      disableApp(resolve(opts.dir), opts.id, systemClock.now());
      io.out(`app ${opts.id} disabled\n`);
    });
}
