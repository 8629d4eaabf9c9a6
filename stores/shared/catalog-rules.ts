import { MeshError } from '../../common/errors/mesh-error.js';
import { REGION_LEVELS } from '../../common/ids/region-level.js';
import type { CatalogEntry, CatalogFilter, Classification } from '../../common/stores/catalog-store.js';
import { clone } from './clone.js';
import { versionKey } from './semver.js';
import {
  malformed,
  optionalDate,
  requireDate,
  requireOneOf,
  requirePlainObject,
  requireRegionPrefix,
  requireText,
} from './validate.js';

export const CLASSIFICATIONS: readonly Classification[] = ['public', 'internal', 'sensitive', 'restricted'];
export const CATALOG_KINDS: readonly CatalogEntry['kind'][] = ['dataset', 'capability'];

/** Checks an entry's shape and returns a normalised copy. */
export function validateCatalogEntry(entry: CatalogEntry): CatalogEntry {
  requireText('id', entry.id);
  versionKey(entry.version);
  requireOneOf('kind', entry.kind, CATALOG_KINDS);
  requireText('title', entry.title);
  if (typeof entry.description !== 'string') malformed('description', 'must be a string');
  for (const field of ['ownerOrg', 'city', 'industry', 'regionCode', 'license'] as const)
    requireText(field, entry[field]);
  requireOneOf('level', entry.level, REGION_LEVELS);
  requireOneOf('classification', entry.classification, CLASSIFICATIONS);
  requirePlainObject('schema', entry.schema);
  if (typeof entry.requiresAgreement !== 'boolean') malformed('requiresAgreement', 'must be a boolean');
  requireDate('publishedAt', entry.publishedAt);
  optionalDate('withdrawnAt', entry.withdrawnAt);
  return clone(entry);
}

/**
 * What `text` is matched against: title and description lower-cased by JavaScript, so
 * every implementation folds case the same way (SQLite's own `LIKE` folds ASCII only).
 */
export function catalogSearchText(entry: Pick<CatalogEntry, 'title' | 'description'>): string {
  return `${entry.title}\n${entry.description}`.toLowerCase();
}

/** A checked filter with the lower-cased needle and the region range it implies. */
export type CheckedCatalogFilter = {
  readonly filter: CatalogFilter;
  readonly needle?: string;
  readonly region?: { readonly low: string; readonly high: string };
};

export function checkCatalogFilter(filter: CatalogFilter): CheckedCatalogFilter {
  if (filter.kind !== undefined) requireOneOf('kind', filter.kind, CATALOG_KINDS);
  if (filter.classification !== undefined) requireOneOf('classification', filter.classification, CLASSIFICATIONS);
  // `includeWithdrawn: false` and absent mean the same query, so they share page tokens.
  const clean = clone({ ...filter, includeWithdrawn: filter.includeWithdrawn === true ? true : undefined });
  return {
    filter: clean,
    ...(filter.text !== undefined && filter.text !== '' ? { needle: filter.text.toLowerCase() } : {}),
    ...(filter.regionPrefix !== undefined ? { region: requireRegionPrefix('regionPrefix', filter.regionPrefix) } : {}),
  };
}

export function catalogEntryNotFound(id: string, version?: string): MeshError {
  const what = version === undefined ? id : `${id}@${version}`;
  return new MeshError('DATASET_NOT_FOUND', `no catalog entry ${what}`, { details: { id, version: version ?? null } });
}
