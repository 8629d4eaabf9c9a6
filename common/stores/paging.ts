/**
 * Paging shared by every store listing (AIP-158 style): the caller asks for a page size
 * and passes back the opaque token of the previous page. Tokens are keyset positions,
 * never offsets, so a page stays correct while rows are inserted concurrently, and
 * they are bound to the query that issued them.
 */

/** Page size used when the caller gives none (or 0). */
export const DEFAULT_PAGE_SIZE = 100;

/** Largest page a store returns; bigger requests are silently capped to this. */
export const MAX_PAGE_SIZE = 1000;

/** What the caller asks for. */
export type PageRequest = {
  /** 1..MAX_PAGE_SIZE; 0 or absent means DEFAULT_PAGE_SIZE; above the maximum is capped. */
  readonly pageSize?: number;
  /**
   * `nextPageToken` of the previous page of the *same* query. A token issued for another
   * query, another store or a forged one fails with `INVALID_PAGE_TOKEN`.
   */
  readonly pageToken?: string;
};

/** One page of results. */
export type Page<T> = {
  readonly items: readonly T[];
  /** Present when more items follow (at the time of the query); absent on the last page. */
  readonly nextPageToken?: string;
};
