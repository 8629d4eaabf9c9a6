import type { JsonObject } from '../../common/stores/json.js';
import type { ManifestInput } from '../../nodes/catalog/index.js';
import {
  airQualityHourly,
  busStops,
  freightDepotThroughput,
  scenicSpotVisitors,
  serviceHallQueues,
} from './open-datasets.js';
import { elderlyCareResidents, fireIncidents, hospitalBedCapacity } from './protected-datasets.js';
import { sampleContext } from './sample-context.js';
import type { SampleDataset } from './sample-dataset.js';

/** The sample datasets every simulated city publishes, across eight industries. */
export const SAMPLE_DATASETS: readonly SampleDataset[] = [
  busStops,
  airQualityHourly,
  scenicSpotVisitors,
  serviceHallQueues,
  freightDepotThroughput,
  fireIncidents,
  hospitalBedCapacity,
  elderlyCareResidents,
];

/** A sample dataset of one city with its records. */
export interface SampleDatasetRecords {
  /** `<cluster>/<city>/<org>/<name>`. */
  readonly id: string;
  readonly records: readonly JsonObject[];
}

/** One city's sample catalog: a manifest to publish and the records to import. */
export interface SampleCatalog {
  readonly manifest: ManifestInput;
  readonly datasets: readonly SampleDatasetRecords[];
}

/**
 * The sample catalog of a bundled city: eight datasets in eight industries (all four
 * classifications, two needing an agreement), 36 records each, and two capabilities
 * served by built-in handlers. Deterministic: the same city always gets the same data.
 *
 * @throws MeshError `MEMBER_NOT_FOUND` for a city that is not bundled
 */
export function sampleCatalog(cluster: string, city: string): SampleCatalog {
  const ctx = sampleContext(cluster, city);
  const common = { version: '1.0.0', regionCode: ctx.cityRegion };
  return {
    manifest: {
      manifestVersion: 1,
      cluster,
      city,
      datasets: SAMPLE_DATASETS.map((d) => ({
        name: d.name,
        ownerOrg: d.ownerOrg,
        title: d.title,
        description: d.description,
        industry: d.industry,
        classification: d.classification,
        requiresAgreement: d.requiresAgreement,
        license: d.license,
        schema: d.schema,
        ...common,
      })),
      capabilities: [
        {
          name: 'region-lookup',
          ownerOrg: 'civil-affairs-bureau',
          title: 'Region lookup',
          description: 'Level, ancestors, city and district of a GB/T 2260 region code',
          industry: 'public-services',
          classification: 'public',
          license: 'CC-BY-4.0',
          backend: { builtin: 'region-lookup' },
          ...common,
        },
        {
          name: 'air-quality-summary',
          ownerOrg: 'ecology-bureau',
          title: 'Air-quality summary',
          description: 'Mean and peak AQI and PM2.5 of the hourly readings, by region or station',
          industry: 'environment',
          classification: 'internal',
          license: 'CC-BY-4.0',
          backend: { builtin: 'air-quality-summary', dataset: `${airQualityHourly.ownerOrg}/${airQualityHourly.name}` },
          ...common,
        },
      ],
    },
    datasets: SAMPLE_DATASETS.map((d) => ({
      id: `${cluster}/${city}/${d.ownerOrg}/${d.name}`,
      records: d.records(ctx),
    })),
  };
}
