import { MeshError } from '../../common/errors/mesh-error.js';
import { parseResourceId, type ResourceId, withoutVersion } from '../../common/ids/resource-id.js';
import type { CatalogEntry, CatalogStore } from '../../common/stores/catalog-store.js';

/** The cluster and city a node serves (from its `identity.json`). */
export interface NodeCity {
  readonly cluster: string;
  readonly city: string;
}

/**
 * The id records are stored under in the RecordStore: the dataset id without its
 * version. A dataset's records outlive its catalog versions; each version's schema
 * checks the records imported while it is current.
 */
export function datasetRecordsId(datasetId: string): string {
  return withoutVersion(parseResourceId(datasetId, 'datasetId')).id;
}

/**
 * The catalog entry of a dataset this node owns: the given version, or the latest live
 * one when the id has no `@version`.
 *
 * @throws MeshError `INVALID_IDENTIFIER` for a malformed id; `MALFORMED_REQUEST` for a
 *   dataset of another city; `DATASET_NOT_FOUND` when it is not published here, is a
 *   capability, or is withdrawn
 */
export async function resolveOwnDataset(
  catalog: CatalogStore,
  node: NodeCity,
  datasetId: string,
): Promise<{ readonly ref: ResourceId; readonly entry: CatalogEntry }> {
  const ref = parseResourceId(datasetId, 'datasetId');
  if (ref.cluster !== node.cluster || ref.city !== node.city) {
    throw new MeshError(
      'MALFORMED_REQUEST',
      `dataset ${ref.id} belongs to ${ref.cluster}/${ref.city}; this node serves ${node.cluster}/${node.city}`,
      { details: { field: 'datasetId', rule: 'own-city', value: ref.id } },
    );
  }
  const unversioned = withoutVersion(ref).id;
  const entry = await catalog.get(unversioned, ref.version);
  const notFound = (why: string) =>
    new MeshError('DATASET_NOT_FOUND', `dataset ${ref.id} ${why}`, {
      details: { id: unversioned, version: ref.version ?? null },
    });
  if (entry === undefined) throw notFound('is not in the catalog (publish it first: citymesh catalog publish)');
  if (entry.kind !== 'dataset') throw notFound('is a capability, not a dataset');
  if (entry.withdrawnAt !== undefined) throw notFound(`version ${entry.version} is withdrawn`);
  return { ref, entry };
}
