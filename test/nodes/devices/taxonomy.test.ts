import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { INDUSTRIES } from '../../../common/ids/industry.js';
import { BUNDLED_TAXONOMY_FILES } from '../../../nodes/devices/taxonomy/bundled.js';
import {
  CATALOGUES,
  type DeviceType,
  defaultTaxonomy,
  loadTaxonomy,
  REF_PATTERNS,
  type TelemetryValue,
  validateTelemetry,
} from '../../../nodes/devices/taxonomy/index.js';

const dataDir = new URL('../../../nodes/devices/taxonomy/data/', import.meta.url);

function meshErrorOf(fn: () => unknown): MeshError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    return err as MeshError;
  }
  throw new Error('expected a MeshError, nothing was thrown');
}

/** A reading that sits in the middle of every field's range: any sound schema accepts it. */
function midpointReading(type: DeviceType): Record<string, TelemetryValue> {
  const reading: Record<string, TelemetryValue> = {};
  for (const field of type.fields) {
    if (field.type === 'enum') reading[field.name] = field.values[0] as string;
    else if (field.type === 'boolean') reading[field.name] = true;
    else if (field.type === 'string') reading[field.name] = 'x';
    else if (field.type === 'integer') reading[field.name] = Math.floor((field.min + field.max) / 2);
    else reading[field.name] = (field.min + field.max) / 2;
  }
  return reading;
}

const allTypes = () =>
  defaultTaxonomy()
    .industries()
    .flatMap((industry) => defaultTaxonomy().types(industry));

describe('shipped device taxonomy', () => {
  it('covers every registered industry with at least 100 device types', () => {
    const taxonomy = defaultTaxonomy();
    expect(taxonomy.industries()).toEqual(INDUSTRIES.map((industry) => industry.id));
    for (const industry of taxonomy.industries()) {
      expect(taxonomy.types(industry).length, industry).toBeGreaterThanOrEqual(100);
    }
    expect(taxonomy.size).toBeGreaterThanOrEqual(1200);
  });

  it('bundles exactly the files of the data directory, and they load the same from disk', () => {
    expect(Object.keys(BUNDLED_TAXONOMY_FILES).sort()).toEqual(
      readdirSync(dataDir)
        .filter((name) => name.endsWith('.json'))
        .sort(),
    );
    expect(loadTaxonomy({ dir: dataDir.pathname }).size).toBe(defaultTaxonomy().size);
  });

  it('names a known catalogue, spelt the way that catalogue spells names, for every type', () => {
    for (const type of allTypes()) {
      expect(CATALOGUES).toContain(type.source.catalogue);
      expect(type.source.ref, `${type.industry}/${type.id}`).toMatch(REF_PATTERNS[type.source.catalogue]);
      expect(type.fields.length).toBeGreaterThanOrEqual(1);
      expect(type.fields.length).toBeLessThanOrEqual(8);
    }
  });

  it('is frozen: a loaded type cannot be changed behind the validators', () => {
    const type = defaultTaxonomy().type('environment', 'pm25-monitor');
    expect(Object.isFrozen(type)).toBe(true);
    expect(Object.isFrozen(type.fields[0])).toBe(true);
  });

  it('accepts a midpoint reading of every type, and its required fields alone', () => {
    for (const type of allTypes()) {
      const full = midpointReading(type);
      expect(validateTelemetry(type, full), `${type.industry}/${type.id}`).toEqual({ ok: true, values: full });
      const requiredOnly = Object.fromEntries(
        type.fields.filter((field) => field.required).map((field) => [field.name, full[field.name]]),
      );
      expect(validateTelemetry(type, requiredOnly).ok, `${type.industry}/${type.id} required only`).toBe(true);
    }
  });

  it('refuses, for every numeric field of every type, a value above its maximum', () => {
    for (const type of allTypes()) {
      for (const field of type.fields) {
        if (field.type !== 'number' && field.type !== 'integer') continue;
        const reading = { ...midpointReading(type), [field.name]: field.max + Math.abs(field.max) + 1 };
        const result = validateTelemetry(type, reading);
        expect(result.ok, `${type.industry}/${type.id}.${field.name}`).toBe(false);
      }
    }
  });
});

describe('device type lookup', () => {
  const taxonomy = defaultTaxonomy();

  it('finds a type by industry and id', () => {
    const type = taxonomy.type('environment', 'pm25-monitor');
    expect(type.industry).toBe('environment');
    expect(type.source).toEqual({ catalogue: 'fiware', ref: 'AirQualityObserved' });
    expect(taxonomy.find('environment', 'pm25-monitor')).toBe(type);
  });

  it('suggests the nearest type id for a typo', () => {
    const err = meshErrorOf(() => taxonomy.type('environment', 'pm25-monitr'));
    expect(err.code).toBe('INVALID_IDENTIFIER');
    expect(err.message).toBe(
      'deviceType "pm25-monitr" is not a device type of industry environment (did you mean "pm25-monitor"?)',
    );
    expect(err.details).toMatchObject({ field: 'deviceType', rule: 'known-device-type', industry: 'environment' });
  });

  it('refuses an unregistered industry with a suggestion', () => {
    const err = meshErrorOf(() => taxonomy.type('enviroment', 'pm25-monitor'));
    expect(err.code).toBe('INVALID_IDENTIFIER');
    expect(err.details.rule).toBe('known-industry');
    expect(err.message).toContain('did you mean "environment"?');
    expect(meshErrorOf(() => taxonomy.types('heath')).message).toContain('"health"');
  });

  it('returns undefined from find for unknown industries and types, without throwing', () => {
    expect(taxonomy.find('environment', 'no-such-type')).toBeUndefined();
    expect(taxonomy.find('no-such-industry', 'pm25-monitor')).toBeUndefined();
  });

  it('refuses a type id that is not a string', () => {
    const err = meshErrorOf(() => taxonomy.type('health', 42 as unknown as string));
    expect(err.details).toMatchObject({ field: 'deviceType', rule: 'type' });
  });
});
