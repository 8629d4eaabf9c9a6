import { MeshError } from '../../../common/errors/mesh-error.js';
import { contains } from '../../../common/ids/region.js';
import type { JsonObject, JsonValue } from '../../../common/stores/json.js';
import type { BuiltinHandler } from './handler.js';

const inputSchema: JsonObject = {
  type: 'object',
  properties: {
    regionCode: { type: 'string', pattern: '^[0-9]{6}([0-9]{3}){0,2}$' },
    stationId: { type: 'string', minLength: 1 },
    since: { type: 'string', format: 'date-time' },
  },
  additionalProperties: false,
};

/** China's AQI bands (HJ 633-2012): upper bound of each, inclusive. */
const AQI_BANDS: readonly [number, string][] = [
  [50, 'excellent'],
  [100, 'good'],
  [150, 'lightly-polluted'],
  [200, 'moderately-polluted'],
  [300, 'heavily-polluted'],
  [Number.POSITIVE_INFINITY, 'severely-polluted'],
];

type Reading = { stationId: string; regionCode: string; observedAt: string; aqi: number; pm25: number };

const isReading = (r: JsonObject): boolean =>
  typeof r.stationId === 'string' &&
  typeof r.regionCode === 'string' &&
  typeof r.observedAt === 'string' &&
  typeof r.aqi === 'number' &&
  typeof r.pm25 === 'number';

const round1 = (n: number) => Math.round(n * 10) / 10;

/**
 * Air-quality summary over the city's hourly readings dataset: mean and peak AQI and
 * PM2.5, the AQI band of the mean, and the time span, optionally for one region (and
 * everything inside it), one station, or readings since an instant.
 */
export const airQualitySummary: BuiltinHandler = {
  name: 'air-quality-summary',
  description: 'mean and peak AQI and PM2.5 over the hourly readings dataset',
  needsDataset: true,
  inputSchema,
  async handle(input, context) {
    const dataset = context.dataset;
    if (dataset === undefined) throw new MeshError('INTERNAL', 'air-quality-summary has no dataset configured');
    const filter = input as { regionCode?: string; stationId?: string; since?: string };
    const since = filter.since === undefined ? undefined : Date.parse(filter.since);
    const readings: Reading[] = [];
    let after: number | undefined = 0;
    while (after !== undefined) {
      const page = await context.records.page(dataset, { afterSequence: after, limit: 1000 });
      for (const record of page.items) {
        const r = JSON.parse(record.json) as JsonObject;
        if (!isReading(r)) continue;
        const reading = r as unknown as Reading;
        if (filter.stationId !== undefined && reading.stationId !== filter.stationId) continue;
        if (filter.regionCode !== undefined && !contains(filter.regionCode, reading.regionCode)) continue;
        if (since !== undefined && Date.parse(reading.observedAt) < since) continue;
        readings.push(reading);
      }
      after = page.nextAfterSequence;
    }
    if (readings.length === 0)
      return { dataset, readings: 0, stations: 0, from: null, to: null, aqi: null, pm25: null, category: null };
    const times = readings.map((r) => r.observedAt).sort();
    const meanAqi = readings.reduce((sum, r) => sum + r.aqi, 0) / readings.length;
    const meanPm25 = readings.reduce((sum, r) => sum + r.pm25, 0) / readings.length;
    const summary: JsonValue = {
      dataset,
      readings: readings.length,
      stations: new Set(readings.map((r) => r.stationId)).size,
      from: times[0] as string,
      to: times.at(-1) as string,
      aqi: { mean: round1(meanAqi), max: Math.max(...readings.map((r) => r.aqi)) },
      pm25: { mean: round1(meanPm25), max: Math.max(...readings.map((r) => r.pm25)) },
      category: (AQI_BANDS.find(([upper]) => meanAqi <= upper) as [number, string])[1],
    };
    return summary;
  },
};
