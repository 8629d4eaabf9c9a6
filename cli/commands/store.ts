import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { MeshError } from '../../common/errors/index.js';
import { openSqliteStores, SCHEMA_VERSION } from '../../stores/index.js';
import { type CliIo, printJson } from '../io.js';

/** `citymesh store`: create and inspect the embedded SQLite store of an anchor or node. */
export function registerStoreCommands(program: Command, io: CliIo): void {
  const store = program.command('store').description('the embedded SQLite store (create, migrate, inspect)');
  store
    .command('init')
    .description('create the store file, or migrate an existing one to this version')
    .argument('<file>', 'the SQLite database file')
    .action(async (file: string) => {
      const stores = openSqliteStores(file);
      await stores.close();
      printJson(io, { file, schemaVersion: SCHEMA_VERSION });
    });
  store
    .command('status')
    .description('show the schema version, the audit chain head and the key inventory')
    .argument('<file>', 'the SQLite database file')
    .action(async (file: string) => {
      if (!existsSync(file)) {
        throw new MeshError('MALFORMED_REQUEST', `no store at ${file} (create one with: citymesh store init ${file})`, {
          details: { field: 'file' },
        });
      }
      const stores = openSqliteStores(file);
      try {
        const head = await stores.audit.head();
        const keys = await stores.keys.list({}, { pageSize: 1000 });
        printJson(io, {
          file,
          schemaVersion: SCHEMA_VERSION,
          audit: head ?? null,
          keys: keys.items.map((k) => ({ kid: k.kid, purpose: k.purpose, status: k.status })),
        });
      } finally {
        await stores.close();
      }
    });
}
