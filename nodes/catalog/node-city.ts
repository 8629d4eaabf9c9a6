import { existsSync, readFileSync } from 'node:fs';
import { MeshError } from '../../common/errors/mesh-error.js';
import { parseCityName } from '../../common/ids/city.js';
import { parseClusterName } from '../../common/ids/cluster.js';
import type { NodeCity } from '../datasets/resolve-dataset.js';
import { NODE_FILES, nodePath } from '../trust/node-files.js';

/**
 * The cluster and city a node folder serves, from the `identity.json` that `node join`
 * wrote. Publishing and importing need no more of the node's trust state than this.
 *
 * @throws MeshError `MALFORMED_REQUEST` when the folder has no readable identity
 */
export function readNodeCity(dir: string): NodeCity {
  const path = nodePath(dir, 'identity');
  if (!existsSync(path))
    throw new MeshError(
      'MALFORMED_REQUEST',
      `${dir} is not a node folder: it has no ${NODE_FILES.identity} (run citymesh node join first)`,
      {
        details: { field: 'dir' },
      },
    );
  let identity: { cluster?: unknown; city?: unknown };
  try {
    identity = JSON.parse(readFileSync(path, 'utf8')) as typeof identity;
  } catch (err) {
    throw new MeshError('MALFORMED_REQUEST', `${path} is not valid JSON`, { details: { field: 'dir' }, cause: err });
  }
  return {
    cluster: parseClusterName(identity.cluster, 'identity.cluster'),
    city: parseCityName(identity.city, 'identity.city'),
  };
}
