import type { Stores } from '../common/stores/index.js';
import { openMemoryStores } from './memory/index.js';
import { openSqliteStores } from './sqlite/index.js';

/** Which stores to open: an embedded SQLite file, or memory (tests, simulations). */
export type StoresConfig = { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'memory' };

/**
 * Opens the stores a node runs on. Async because the PostgreSQL kind (later) connects
 * over the network; the SQLite and memory kinds open synchronously.
 */
export async function openStores(config: StoresConfig): Promise<Stores> {
  switch (config.kind) {
    case 'sqlite':
      return openSqliteStores(config.path);
    case 'memory':
      return openMemoryStores();
    default:
      throw new TypeError(`openStores: unknown kind ${String((config as { kind: unknown }).kind)}`);
  }
}

export { openMemoryStores } from './memory/index.js';
export { openSqliteStores, SCHEMA_VERSION } from './sqlite/index.js';
