import { MeshError } from '../../common/errors/mesh-error.js';
import type { NewRecord } from '../../common/stores/record-store.js';
import { malformed, optionalText, requireDate, requireJsonText, requireText } from './validate.js';

/** Checks a batch before anything is written: not empty, JSON records, no recordId twice. */
export function validateRecordBatch(datasetId: string, records: readonly NewRecord[], at: Date): void {
  requireText('datasetId', datasetId);
  requireDate('at', at);
  if (!Array.isArray(records) || records.length === 0) malformed('records', 'must hold at least one record');
  const seen = new Set<string>();
  records.forEach((record, i) => {
    requireJsonText(`records[${i}].json`, record.json);
    const recordId = optionalText(`records[${i}].recordId`, record.recordId);
    if (recordId === undefined) return;
    if (seen.has(recordId)) throw recordExists(datasetId, recordId);
    seen.add(recordId);
  });
}

export function recordExists(datasetId: string, recordId: string): MeshError {
  return new MeshError('ALREADY_EXISTS', `dataset ${datasetId} already has a record ${recordId}`, {
    details: { datasetId, recordId },
  });
}
