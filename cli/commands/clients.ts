import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import { registerClient } from '../../nodes/oidc/clients.js';
import { openNodeOidcStore } from '../../nodes/oidc/node-store.js';
import { type CliIo, printJson } from '../io.js';

/** A JWKS file (`{"keys": [...]}`) or a single public JWK. */
function readJwks(file: string): { keys: unknown[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new MeshError('MALFORMED_REQUEST', `${file} is not a JSON JWKS`, { details: { field: 'jwks' }, cause });
  }
  const obj = parsed as { keys?: unknown };
  return Array.isArray(obj?.keys) ? { keys: obj.keys } : { keys: [parsed] };
}

/** `citymesh clients ...`: apps of this city at its OIDC provider (private_key_jwt). */
export function registerClientsCommands(program: Command, io: CliIo): void {
  const clients = program
    .command('clients')
    .description("register this city's apps with its OIDC provider (they authenticate with private_key_jwt)");

  clients
    .command('add')
    .description('register an app by its public JWKS; prints the client id')
    .requiredOption('--dir <dir>', 'the node folder')
    .requiredOption('--jwks <file>', 'the app public keys: a JWKS or one JWK (P-256 or Ed25519, no private parts)')
    .requiredOption('--org <org>', 'owning organisation')
    .requiredOption('--industry <industry>', 'industry the app works in, e.g. transport')
    .requiredOption('--region <code>', 'GB/T 2260 region code the app acts for')
    .option('--level <level>', 'administrative level; default: from the region code')
    .option('--role <role...>', 'roles, e.g. data-office', [])
    .option('--redirect-uri <uri...>', 'https redirect URIs: lets the app log people in (code + PKCE)', [])
    .option('--cross-city', 'let the app obtain exchange grants to call other cities directly (token exchange)')
    .option('--id <clientId>', 'client id (a-z, 0-9, -); default: a random app-… id; an existing id is re-keyed')
    .action(
      async (opts: {
        dir: string;
        jwks: string;
        org: string;
        industry: string;
        region: string;
        level?: string;
        role: string[];
        redirectUri: string[];
        crossCity?: boolean;
        id?: string;
      }) => {
        const store = openNodeOidcStore(resolve(opts.dir));
        try {
          const record = await registerClient(
            store,
            {
              ...(opts.id ? { clientId: opts.id } : {}),
              jwks: readJwks(resolve(opts.jwks)),
              attributes: {
                org: opts.org,
                industry: opts.industry,
                region: opts.region,
                roles: opts.role,
                ...(opts.level ? { level: opts.level } : {}),
              },
              redirectUris: opts.redirectUri,
              crossCity: opts.crossCity === true,
            },
            systemClock.now(),
          );
          io.out(`${record.clientId}\n`);
        } finally {
          await store.close();
        }
      },
    );

  clients
    .command('list')
    .description('list the registered apps (public keys and attributes)')
    .requiredOption('--dir <dir>', 'the node folder')
    .action(async (opts: { dir: string }) => {
      const store = openNodeOidcStore(resolve(opts.dir));
      try {
        printJson(io, { clients: await store.listClients() });
      } finally {
        await store.close();
      }
    });
}
