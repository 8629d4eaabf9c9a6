import { dateAt, isoAt, pad } from './sample-context.js';
import {
  bool,
  date,
  dateTime,
  int,
  num,
  oneOf,
  recordSchema,
  SAMPLE_RECORDS,
  type SampleDataset,
  str,
} from './sample-dataset.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

export const busStops: SampleDataset = {
  ownerOrg: 'transport-commission',
  name: 'bus-stops',
  title: 'Bus stops',
  description: 'Bus stops with their location, routes served and accessibility',
  industry: 'transport',
  classification: 'public',
  requiresAgreement: false,
  license: 'CC-BY-4.0',
  schema: recordSchema(
    'bus stop',
    { name: str(), lat: num(-90, 90), lon: num(-180, 180), routes: int(1, 60), sheltered: bool, accessible: bool },
    ['accessible'],
  ),
  records: (ctx) => {
    const rng = ctx.rng('bus-stops');
    return range(SAMPLE_RECORDS).map((i) => ({
      id: `stop-${pad(i + 1)}`,
      regionCode: rng.pick(ctx.regions),
      name: `${ctx.city} stop ${i + 1}`,
      lat: rng.decimal(30, 41, 5),
      lon: rng.decimal(113, 121, 5),
      routes: rng.int(1, 12),
      sheltered: rng.next() < 0.7,
      // Left out for some stops: the survey has not reached them (an optional column).
      ...(i % 5 === 4 ? {} : { accessible: rng.next() < 0.6 }),
    }));
  },
};

const STATIONS = 6;

export const airQualityHourly: SampleDataset = {
  ownerOrg: 'ecology-bureau',
  name: 'air-quality-hourly',
  title: 'Hourly air quality',
  description: 'Hourly AQI, PM2.5, PM10 and NO2 readings of the monitoring stations',
  industry: 'environment',
  classification: 'public',
  requiresAgreement: false,
  license: 'CC-BY-4.0',
  schema: recordSchema('air-quality reading', {
    stationId: str(),
    observedAt: dateTime,
    aqi: int(0, 500),
    pm25: num(0),
    pm10: num(0),
    no2: num(0),
  }),
  records: (ctx) => {
    const rng = ctx.rng('air-quality-hourly');
    const stationRegion = range(STATIONS).map((s) => ctx.regions[s % ctx.regions.length] as string);
    return range(SAMPLE_RECORDS).map((i) => {
      const station = i % STATIONS;
      const pm25 = rng.decimal(8, 180, 1);
      return {
        id: `aq-${pad(i + 1)}`,
        regionCode: stationRegion[station] as string,
        stationId: `station-${station + 1}`,
        observedAt: isoAt(Math.floor(i / STATIONS)),
        // Roughly the PM2.5 sub-index; good enough for a synthetic reading.
        aqi: Math.min(500, Math.round(pm25 * 1.3)),
        pm25,
        pm10: Number((pm25 * rng.decimal(1.2, 1.9, 2)).toFixed(1)),
        no2: rng.decimal(5, 90, 1),
      };
    });
  },
};

export const scenicSpotVisitors: SampleDataset = {
  ownerOrg: 'culture-tourism-bureau',
  name: 'scenic-spot-visitors',
  title: 'Scenic spot visitors',
  description: 'Daily visitors, capacity and rating of the scenic spots',
  industry: 'tourism',
  classification: 'public',
  requiresAgreement: false,
  license: 'CC-BY-4.0',
  schema: recordSchema('scenic spot day', {
    spotName: str(),
    date,
    visitors: int(0),
    capacity: int(1),
    rating: num(1, 5),
  }),
  records: (ctx) => {
    const rng = ctx.rng('scenic-spot-visitors');
    return range(SAMPLE_RECORDS).map((i) => {
      const capacity = rng.int(2_000, 60_000);
      return {
        id: `spot-${pad(i + 1)}`,
        regionCode: rng.pick(ctx.regions),
        spotName: `${ctx.city} scenic spot ${(i % 12) + 1}`,
        date: dateAt(Math.floor(i / 12)),
        visitors: rng.int(0, capacity),
        capacity,
        rating: rng.decimal(3, 5, 1),
      };
    });
  },
};

export const serviceHallQueues: SampleDataset = {
  ownerOrg: 'government-service-center',
  name: 'service-hall-queues',
  title: 'Service hall queues',
  description: 'Daily applications and waiting times per service at the government service halls',
  industry: 'government-services',
  classification: 'internal',
  requiresAgreement: false,
  license: 'LicenseRef-citymesh-internal',
  schema: recordSchema('service hall day', {
    hallId: str(),
    date,
    service: oneOf('business-licence', 'social-insurance', 'housing-fund', 'residence-permit'),
    applications: int(0),
    meanWaitMinutes: num(0),
    onlineShare: num(0, 1),
  }),
  records: (ctx) => {
    const rng = ctx.rng('service-hall-queues');
    const services = ['business-licence', 'social-insurance', 'housing-fund', 'residence-permit'];
    return range(SAMPLE_RECORDS).map((i) => ({
      id: `hall-${pad(i + 1)}`,
      regionCode: rng.pick(ctx.regions),
      hallId: `hall-${(i % 3) + 1}`,
      date: dateAt(Math.floor(i / 12)),
      service: services[i % services.length] as string,
      applications: rng.int(20, 900),
      meanWaitMinutes: rng.decimal(2, 55, 1),
      onlineShare: rng.decimal(0.2, 0.95, 2),
    }));
  },
};

export const freightDepotThroughput: SampleDataset = {
  ownerOrg: 'commerce-bureau',
  name: 'freight-depot-throughput',
  title: 'Freight depot throughput',
  description: 'Daily inbound and outbound tonnage and truck movements of freight depots',
  industry: 'logistics',
  classification: 'internal',
  requiresAgreement: false,
  license: 'LicenseRef-citymesh-internal',
  schema: recordSchema('depot day', {
    depotId: str(),
    date,
    inboundTonnes: num(0),
    outboundTonnes: num(0),
    trucks: int(0),
    coldChain: bool,
  }),
  records: (ctx) => {
    const rng = ctx.rng('freight-depot-throughput');
    return range(SAMPLE_RECORDS).map((i) => ({
      id: `depot-${pad(i + 1)}`,
      regionCode: rng.pick(ctx.regions),
      depotId: `depot-${(i % 6) + 1}`,
      date: dateAt(Math.floor(i / 6)),
      inboundTonnes: rng.decimal(50, 4_000, 1),
      outboundTonnes: rng.decimal(50, 4_000, 1),
      trucks: rng.int(5, 400),
      coldChain: i % 6 < 2,
    }));
  },
};
