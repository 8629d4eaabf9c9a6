import type { RegionLevel } from '../ids/region-level.js';
import type { JsonObject } from './json.js';
import type { Page, PageRequest } from './paging.js';

/** Sensitivity of a dataset or capability; policy compares it with what a grant allows. */
export type Classification = 'public' | 'internal' | 'sensitive' | 'restricted';

/** One published version of a dataset or capability. */
export type CatalogEntry = {
  /** `<cluster>/<city>/<org>/<name>`, without `@version`. */
  readonly id: string;
  /** `MAJOR.MINOR.PATCH` (semver without pre-release or build parts). */
  readonly version: string;
  readonly kind: 'dataset' | 'capability';
  readonly title: string;
  readonly description: string;
  readonly ownerOrg: string;
  readonly city: string;
  readonly industry: string;
  /** GB/T 2260 code of the publishing body's region. */
  readonly regionCode: string;
  /** Administrative level of the publisher (follows from `regionCode`). */
  readonly level: RegionLevel;
  readonly classification: Classification;
  /** JSON Schema of the records (datasets) or of the request (capabilities). */
  readonly schema: JsonObject;
  /** SPDX identifier or URL of the licence. */
  readonly license: string;
  readonly requiresAgreement: boolean;
  readonly publishedAt: Date;
  /** Set by {@link CatalogStore.withdraw}; withdrawn versions stay readable by version. */
  readonly withdrawnAt?: Date;
};

/** Filter for {@link CatalogStore.list}; absent fields match everything. */
export type CatalogFilter = {
  /** Case-insensitive substring of the title or the description. */
  readonly text?: string;
  readonly kind?: CatalogEntry['kind'];
  readonly city?: string;
  readonly industry?: string;
  readonly classification?: Classification;
  /** Digits the region code starts with. */
  readonly regionPrefix?: string;
  /** Include withdrawn versions (default: no). */
  readonly includeWithdrawn?: boolean;
};

/** The catalog of datasets and capabilities a city node publishes or mirrors. */
export interface CatalogStore {
  /**
   * Publishes a version. The same id and version again with identical content is a
   * no-op; with different content it fails with `ALREADY_EXISTS` (versions are
   * immutable: publish a new one). A version that is not `MAJOR.MINOR.PATCH` fails with
   * `MALFORMED_REQUEST`.
   */
  put(entry: CatalogEntry): Promise<void>;

  /**
   * The given version (withdrawn or not), or without `version` the highest
   * non-withdrawn version by semver; `undefined` when there is none.
   */
  get(id: string, version?: string): Promise<CatalogEntry | undefined>;

  /** Every matching version, in (`id`, semver) order. */
  list(filter: CatalogFilter, page?: PageRequest): Promise<Page<CatalogEntry>>;

  /**
   * Withdraws one version, or every version of `id` when `version` is absent, and
   * returns how many versions this call withdrew. Already withdrawn versions keep their
   * first `withdrawnAt`. An unknown id or version fails with `DATASET_NOT_FOUND`.
   */
  withdraw(id: string, at: Date, version?: string): Promise<number>;
}
