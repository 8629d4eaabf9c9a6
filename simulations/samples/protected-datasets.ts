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

export const fireIncidents: SampleDataset = {
  ownerOrg: 'emergency-bureau',
  name: 'fire-incidents',
  title: 'Fire incidents',
  description: 'Reported fire incidents with category, severity and response time',
  industry: 'public-safety',
  classification: 'sensitive',
  requiresAgreement: false,
  license: 'LicenseRef-citymesh-restricted-use',
  schema: recordSchema('fire incident', {
    reportedAt: dateTime,
    category: oneOf('building', 'vehicle', 'forest', 'industrial', 'other'),
    severity: int(1, 4),
    responseMinutes: num(0),
    casualties: int(0),
  }),
  records: (ctx) => {
    const rng = ctx.rng('fire-incidents');
    const categories = ['building', 'vehicle', 'forest', 'industrial', 'other'];
    return range(SAMPLE_RECORDS).map((i) => ({
      id: `fire-${pad(i + 1)}`,
      regionCode: rng.pick(ctx.regions),
      reportedAt: isoAt(i * 7 + rng.int(0, 6)),
      category: rng.pick(categories),
      severity: rng.int(1, 4),
      responseMinutes: rng.decimal(3, 25, 1),
      casualties: rng.next() < 0.85 ? 0 : rng.int(1, 3),
    }));
  },
};

export const hospitalBedCapacity: SampleDataset = {
  ownerOrg: 'health-commission',
  name: 'hospital-bed-capacity',
  title: 'Hospital bed capacity',
  description: 'Daily total, occupied and intensive-care beds per hospital',
  industry: 'health',
  classification: 'sensitive',
  requiresAgreement: true,
  license: 'LicenseRef-citymesh-agreement',
  schema: recordSchema('hospital day', {
    hospitalId: str(),
    date,
    totalBeds: int(1),
    occupiedBeds: int(0),
    icuBeds: int(0),
    icuOccupied: int(0),
  }),
  records: (ctx) => {
    const rng = ctx.rng('hospital-bed-capacity');
    return range(SAMPLE_RECORDS).map((i) => {
      const totalBeds = rng.int(150, 2_500);
      const icuBeds = rng.int(8, 120);
      return {
        id: `bed-${pad(i + 1)}`,
        regionCode: rng.pick(ctx.regions),
        hospitalId: `hospital-${(i % 9) + 1}`,
        date: dateAt(Math.floor(i / 9)),
        totalBeds,
        occupiedBeds: rng.int(0, totalBeds),
        icuBeds,
        icuOccupied: rng.int(0, icuBeds),
      };
    });
  },
};

export const elderlyCareResidents: SampleDataset = {
  ownerOrg: 'civil-affairs-bureau',
  name: 'elderly-care-residents',
  title: 'Elderly care residents',
  description: 'Pseudonymous residents receiving elderly care: age band, care level and home visits',
  industry: 'elderly-care',
  classification: 'restricted',
  requiresAgreement: true,
  license: 'LicenseRef-citymesh-agreement',
  schema: recordSchema(
    'care resident',
    {
      residentRef: { type: 'string', pattern: '^R[0-9a-f]{12}$' },
      ageBand: oneOf('60-69', '70-79', '80-89', '90+'),
      careLevel: int(1, 5),
      livesAlone: bool,
      homeVisitsPerMonth: int(0, 31),
      careHome: str(),
    },
    ['careHome'],
  ),
  records: (ctx) => {
    const rng = ctx.rng('elderly-care-residents');
    return range(SAMPLE_RECORDS).map((i) => {
      const inCareHome = rng.next() < 0.3;
      return {
        id: `care-${pad(i + 1)}`,
        regionCode: rng.pick(ctx.regions),
        residentRef: `R${Math.floor(rng.next() * 2 ** 48)
          .toString(16)
          .padStart(12, '0')}`,
        ageBand: rng.pick(['60-69', '70-79', '80-89', '90+']),
        careLevel: rng.int(1, 5),
        livesAlone: !inCareHome && rng.next() < 0.4,
        homeVisitsPerMonth: inCareHome ? 0 : rng.int(1, 12),
        ...(inCareHome ? { careHome: `care-home-${rng.int(1, 5)}` } : {}),
      };
    });
  },
};
