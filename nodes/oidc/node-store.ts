import { existsSync } from 'node:fs';
import { MeshError } from '../../common/errors/mesh-error.js';
import { nodePath } from '../trust/node-files.js';
import type { OidcStore } from './oidc-store.js';
import { openSqliteOidcStore } from './sqlite-oidc-store.js';

/**
 * The OIDC tables of the node in `dir` (its `node.db`). Refuses a folder without a node
 * store, so a typo in `--dir` does not silently create a fresh database somewhere.
 */
export function openNodeOidcStore(dir: string): OidcStore {
  const path = nodePath(dir, 'store');
  if (!existsSync(path)) {
    throw new MeshError('INVALID_CONFIG', `${dir} holds no node store (node.db); run \`citymesh node join\` first`, {
      details: { field: 'dir' },
    });
  }
  return openSqliteOidcStore(path);
}
