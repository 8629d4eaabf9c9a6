/** A record appended to a dataset. */
export type DatasetRecord = {
  readonly datasetId: string;
  /** Per-dataset, starting at 1, increasing by 1 with every appended record. */
  readonly sequence: number;
  /** Caller-chosen id, unique within the dataset, for idempotent producers. */
  readonly recordId?: string;
  /** The record as JSON text, stored as given. */
  readonly json: string;
  readonly appendedAt: Date;
};

/** A record to append. */
export type NewRecord = {
  readonly recordId?: string;
  /** Must parse as JSON; schema checks belong to the caller. */
  readonly json: string;
};

/** Where {@link RecordStore.page} starts and how much it returns. */
export type RecordPageRequest = {
  /** Return records with a sequence above this one (default 0: from the start). */
  readonly afterSequence?: number;
  /** 1..MAX_PAGE_SIZE; capped at MAX_PAGE_SIZE; 0 or absent means DEFAULT_PAGE_SIZE. */
  readonly limit?: number;
};

/** A page of records. Sequences are the cursor: subscribers resume from the last one seen. */
export type RecordPage = {
  readonly items: readonly DatasetRecord[];
  /** Pass as `afterSequence` for the next page; absent when no more records follow. */
  readonly nextAfterSequence?: number;
};

/** Records of the datasets a node hosts. */
export interface RecordStore {
  /**
   * Appends records in one transaction and returns the sequences they got. All or
   * nothing: a `recordId` already in the dataset (or twice in the batch) fails with
   * `ALREADY_EXISTS` and nothing is written; an empty batch or a record that is not JSON
   * fails with `MALFORMED_REQUEST`.
   */
  appendBatch(
    datasetId: string,
    records: readonly NewRecord[],
    at: Date,
  ): Promise<{ readonly firstSequence: number; readonly lastSequence: number }>;

  /** Records in sequence order. */
  page(datasetId: string, request?: RecordPageRequest): Promise<RecordPage>;

  /** Number of records the dataset holds. */
  count(datasetId: string): Promise<number>;

  /** The highest sequence ever appended (0 for none); deleting records does not lower it. */
  highSequence(datasetId: string): Promise<number>;

  /**
   * Deletes every record of the dataset and returns how many. The sequence is not reset:
   * later appends continue above the old records, so a subscriber's cursor never skips
   * new data.
   */
  deleteDataset(datasetId: string): Promise<number>;
}
