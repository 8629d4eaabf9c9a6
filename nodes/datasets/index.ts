/**
 * Dataset records of a city node: record-schema validation (JSON Schema 2020-12, ajv
 * strict) and all-or-nothing import from CSV or NDJSON.
 *
 * @packageDocumentation
 */
export { type ColumnTypes, columnTypesOf, convertCell, csvRowToRecord } from './csv-values.js';
export {
  type BadRow,
  DEFAULT_MAX_BAD_ROWS,
  type ImportComponents,
  type ImportOptions,
  type ImportProgress,
  type ImportReport,
  importRecords,
  RECORD_ID_PATTERN,
} from './import-records.js';
export { compileRecordSchema, RecordSchemaCache, type RecordValidator, recordSchemas } from './record-schema.js';
export { datasetRecordsId, type NodeCity, resolveOwnDataset } from './resolve-dataset.js';
export {
  csvRows,
  IMPORT_FORMATS,
  type ImportFormat,
  type ImportSource,
  importFormatOf,
  ndjsonRows,
  type SourceRow,
} from './row-sources.js';
