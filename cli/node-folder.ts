import { existsSync, readFileSync } from 'node:fs';
import { MeshError } from '../common/errors/index.js';
import type { Stores } from '../common/stores/index.js';
import type { NodeIdentity } from '../nodes/trust/identity.js';
import { nodePath } from '../nodes/trust/node-files.js';
import { openSqliteStores } from '../stores/index.js';

/**
 * Opens a joined node's folder from the command line: who it is and its store (the node
 * may be running: SQLite WAL lets both use it). The caller closes the stores.
 */
export function openNodeFolder(dir: string): { identity: NodeIdentity; stores: Stores } {
  const identityPath = nodePath(dir, 'identity');
  const storePath = nodePath(dir, 'store');
  if (!existsSync(identityPath) || !existsSync(storePath)) {
    throw new MeshError('INVALID_CONFIG', `${dir} holds no joined node (no identity.json or node.db)`, {
      details: { field: 'dir' },
    });
  }
  return {
    identity: JSON.parse(readFileSync(identityPath, 'utf8')) as NodeIdentity,
    stores: openSqliteStores(storePath),
  };
}
