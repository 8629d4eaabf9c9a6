import { requirePattern, requireString } from './identifier-error.js';

declare const clusterBrand: unique symbol;

/** A cluster name such as `jjj`, `prd` or `yrd`: checked once, then trusted by type. */
export type ClusterName = string & { readonly [clusterBrand]: true };

/**
 * Cluster names are short lowercase words. No hyphen, so that `<city>.<cluster>`
 * trust domains and `<cluster>/<city>/...` resource ids split without ambiguity.
 */
export const CLUSTER_NAME_PATTERN = /^[a-z][a-z0-9]{1,15}$/;

/**
 * Parses a cluster name.
 *
 * @param field name of the field being parsed, reported in `details.field`
 * @throws MeshError `INVALID_IDENTIFIER` (rules `type`, `pattern`)
 */
export function parseClusterName(input: unknown, field = 'cluster'): ClusterName {
  return requirePattern(requireString(input, field), CLUSTER_NAME_PATTERN, field) as ClusterName;
}

/** True when `input` is a valid cluster name. */
export function isClusterName(input: unknown): input is ClusterName {
  return typeof input === 'string' && CLUSTER_NAME_PATTERN.test(input);
}
