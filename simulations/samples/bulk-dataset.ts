import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { ManifestInput } from '../../nodes/catalog/index.js';
import { isoAt, pad, sampleContext } from './sample-context.js';
import { int, recordSchema, str } from './sample-dataset.js';

/**
 * A public dataset big enough that a stream of small batches is still running seconds
 * after it started: bus arrivals at stops, one record each. The kill-node scenario
 * publishes it in the victim city only, so the exchange matrix stays small.
 */
export const BULK = {
  ownerOrg: 'transport-commission',
  name: 'bus-arrivals',
  industry: 'transport',
} as const;

/** Files for `catalog publish` and `datasets import --id-field id`. */
export interface BulkFiles {
  readonly datasetId: string;
  readonly manifest: string;
  readonly records: string;
}

/** Record ids have four digits (the samples' id rule). */
export const BULK_MAX_RECORDS = 9_999;

/** Writes the bulk dataset's manifest and `count` records (NDJSON) of `city` under `dir`. */
export function writeBulkDataset(dir: string, cluster: string, city: string, count: number): BulkFiles {
  if (!Number.isInteger(count) || count < 1 || count > BULK_MAX_RECORDS) {
    throw new RangeError(`count must be a whole number from 1 to ${BULK_MAX_RECORDS}, got ${count}`);
  }
  const ctx = sampleContext(cluster, city);
  const rng = ctx.rng(BULK.name);
  const manifest: ManifestInput = {
    manifestVersion: 1,
    cluster,
    city,
    datasets: [
      {
        name: BULK.name,
        ownerOrg: BULK.ownerOrg,
        title: 'Bus arrivals',
        description: 'Arrivals of buses at stops with their delay against the timetable',
        industry: BULK.industry,
        classification: 'public',
        requiresAgreement: false,
        license: 'CC-BY-4.0',
        schema: recordSchema('bus arrival', {
          stopId: str(),
          route: str(),
          arrivedAt: { type: 'string', format: 'date-time' },
          delaySeconds: int(-600, 3600),
        }),
        version: '1.0.0',
        regionCode: ctx.cityRegion,
      },
    ],
  };
  mkdirSync(dir, { recursive: true });
  const manifestFile = join(dir, 'bulk-manifest.yaml');
  writeFileSync(manifestFile, toYaml(manifest));
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const record = {
      id: `arrival-${pad(i + 1)}`,
      regionCode: rng.pick(ctx.regions),
      stopId: `stop-${pad(rng.int(1, 36))}`,
      route: `${rng.int(1, 120)}`,
      arrivedAt: isoAt(i / 60),
      delaySeconds: rng.int(-120, 900),
    };
    lines.push(`${JSON.stringify(record)}\n`);
  }
  const recordsFile = join(dir, 'bus-arrivals.ndjson');
  writeFileSync(recordsFile, lines.join(''));
  return {
    datasetId: `${cluster}/${city}/${BULK.ownerOrg}/${BULK.name}`,
    manifest: manifestFile,
    records: recordsFile,
  };
}
