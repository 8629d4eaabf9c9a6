import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { JsonObject, JsonValue } from '../../common/stores/json.js';
import { sampleCatalog } from './sample-catalog.js';

/** Files written by {@link writeSampleCatalog}, ready for `catalog publish` and `datasets import`. */
export interface SampleFiles {
  readonly manifest: string;
  readonly imports: readonly { readonly datasetId: string; readonly file: string; readonly format: 'csv' | 'ndjson' }[];
}

const csvCell = (value: JsonValue | undefined): string => {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

function toCsv(records: readonly JsonObject[]): string {
  const columns = [...new Set(records.flatMap((r) => Object.keys(r)))];
  const lines = [columns.join(','), ...records.map((r) => columns.map((c) => csvCell(r[c])).join(','))];
  return `${lines.join('\n')}\n`;
}

/**
 * Writes a city's sample catalog as files: `manifest.yaml` and one record file per
 * dataset, CSV for the first (so the simulation exercises both import formats) and
 * NDJSON for the others. Every record carries an `id`: import with `--id-field id`.
 */
export function writeSampleCatalog(dir: string, cluster: string, city: string): SampleFiles {
  const catalog = sampleCatalog(cluster, city);
  mkdirSync(dir, { recursive: true });
  const manifest = join(dir, 'manifest.yaml');
  writeFileSync(manifest, toYaml(catalog.manifest));
  const imports = catalog.datasets.map(({ id, records }, i) => {
    const format = i === 0 ? ('csv' as const) : ('ndjson' as const);
    const file = join(dir, `${id.split('/').slice(2).join('.')}.${format}`);
    writeFileSync(file, format === 'csv' ? toCsv(records) : records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return { datasetId: id, file, format };
  });
  return { manifest, imports };
}
