/**
 * Sample catalogs for the simulation: per city, datasets in eight industries with
 * records valid against their schemas, and two capabilities with built-in handlers.
 *
 * @packageDocumentation
 */

export { BULK, BULK_MAX_RECORDS, type BulkFiles, writeBulkDataset } from './bulk-dataset.js';
export { SAMPLE_DATASETS, type SampleCatalog, type SampleDatasetRecords, sampleCatalog } from './sample-catalog.js';
export { SAMPLE_RECORDS, type SampleDataset } from './sample-dataset.js';
export { type SampleFiles, writeSampleCatalog } from './write-samples.js';
