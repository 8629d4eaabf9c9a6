import type {
  DatasetRecord,
  NewRecord,
  RecordPage,
  RecordPageRequest,
  RecordStore,
} from '../../common/stores/record-store.js';
import { clone } from '../shared/clone.js';
import { resolvePageSize } from '../shared/page-token.js';
import { recordExists, validateRecordBatch } from '../shared/record-rules.js';
import { requireInteger } from '../shared/validate.js';

type Dataset = { lastSequence: number; records: DatasetRecord[]; recordIds: Set<string> };

/** {@link RecordStore} in memory, for tests and fakes. */
export class MemoryRecordStore implements RecordStore {
  readonly #datasets = new Map<string, Dataset>();

  async appendBatch(
    datasetId: string,
    records: readonly NewRecord[],
    at: Date,
  ): Promise<{ firstSequence: number; lastSequence: number }> {
    validateRecordBatch(datasetId, records, at);
    const dataset = this.#datasets.get(datasetId) ?? { lastSequence: 0, records: [], recordIds: new Set<string>() };
    for (const r of records)
      if (r.recordId !== undefined && dataset.recordIds.has(r.recordId)) throw recordExists(datasetId, r.recordId);
    const firstSequence = dataset.lastSequence + 1;
    records.forEach((r, i) => {
      dataset.records.push({
        datasetId,
        sequence: firstSequence + i,
        ...(r.recordId === undefined ? {} : { recordId: r.recordId }),
        json: r.json,
        appendedAt: new Date(at.getTime()),
      });
      if (r.recordId !== undefined) dataset.recordIds.add(r.recordId);
    });
    dataset.lastSequence = firstSequence + records.length - 1;
    this.#datasets.set(datasetId, dataset);
    return { firstSequence, lastSequence: dataset.lastSequence };
  }

  async page(datasetId: string, request: RecordPageRequest = {}): Promise<RecordPage> {
    const after = requireInteger('afterSequence', request.afterSequence ?? 0, 0);
    const limit = resolvePageSize(request.limit, 'limit');
    const records = this.#datasets.get(datasetId)?.records ?? [];
    // Records are kept in sequence order, so the first one after the cursor is found by bisection.
    let lo = 0;
    let hi = records.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((records[mid] as DatasetRecord).sequence <= after) lo = mid + 1;
      else hi = mid;
    }
    const items = records.slice(lo, lo + limit).map(clone);
    const last = items.at(-1);
    return {
      items,
      ...(lo + limit < records.length && last !== undefined ? { nextAfterSequence: last.sequence } : {}),
    };
  }

  async count(datasetId: string): Promise<number> {
    return this.#datasets.get(datasetId)?.records.length ?? 0;
  }

  async highSequence(datasetId: string): Promise<number> {
    return this.#datasets.get(datasetId)?.lastSequence ?? 0;
  }

  async deleteDataset(datasetId: string): Promise<number> {
    const dataset = this.#datasets.get(datasetId);
    if (dataset === undefined) return 0;
    const deleted = dataset.records.length;
    // Keep lastSequence: appends after a delete continue above the old records.
    dataset.records = [];
    dataset.recordIds.clear();
    return deleted;
  }
}
