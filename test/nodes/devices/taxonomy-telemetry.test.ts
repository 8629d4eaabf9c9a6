import { describe, expect, it } from 'vitest';
import {
  type DeviceType,
  loadTaxonomy,
  type TelemetryResult,
  telemetryValidatorOf,
  validateTelemetry,
} from '../../../nodes/devices/taxonomy/index.js';

/** One type with a field of every kind, one of them optional. */
const station: DeviceType = loadTaxonomy({
  minTypesPerIndustry: 1,
  requireEveryIndustry: false,
  documents: {
    'environment.json': {
      types: [
        {
          id: 'test-station',
          name: 'Test station',
          description: 'A station with one field of every kind',
          source: { catalogue: 'lwm2m', ref: '3428 Air quality' },
          fields: [
            { name: 'pm25', type: 'number', unit: 'ug/m3', min: 0, max: 1000 },
            { name: 'count', type: 'integer', unit: '1', min: 0, max: 10 },
            { name: 'alarm', type: 'boolean' },
            { name: 'label', type: 'string', maxLength: 8, required: false },
            { name: 'mode', type: 'enum', values: ['auto', 'manual'] },
          ],
        },
      ],
    },
  },
}).type('environment', 'test-station');

const good = { pm25: 35.5, count: 3, alarm: false, label: 'north', mode: 'auto' };

const problemsOf = (reading: unknown): readonly string[] => {
  const result = telemetryValidatorOf(station)(reading) as TelemetryResult;
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.problems;
};

describe('telemetry validation', () => {
  it('accepts a reading that fits, returning a copy of its values', () => {
    const result = validateTelemetry(station, good);
    expect(result).toEqual({ ok: true, values: good });
    if (result.ok) expect(result.values).not.toBe(good);
  });

  it('accepts a reading without its optional fields, and treats undefined as absent', () => {
    const { label: _label, ...required } = good;
    expect(validateTelemetry(station, required).ok).toBe(true);
    expect(validateTelemetry(station, { ...required, label: undefined })).toEqual({ ok: true, values: required });
  });

  it('accepts the bounds themselves', () => {
    expect(validateTelemetry(station, { ...good, pm25: 0, count: 10 }).ok).toBe(true);
    expect(validateTelemetry(station, { ...good, pm25: 1000, count: 0 }).ok).toBe(true);
  });

  it('refuses an unknown field, suggesting the near one', () => {
    expect(problemsOf({ ...good, pm52: 1 })).toEqual(['"pm52": unknown field (did you mean "pm25"?)']);
    expect(problemsOf({ ...good, humidity: 1 })).toEqual(['"humidity": unknown field']);
  });

  it('refuses a missing required field', () => {
    const { mode: _mode, ...rest } = good;
    expect(problemsOf(rest)).toEqual(['mode: required field is missing']);
  });

  it('refuses wrong types, null included', () => {
    expect(problemsOf({ ...good, pm25: '35' })).toEqual(['pm25: must be a number, got string']);
    expect(problemsOf({ ...good, count: 2.5 })).toEqual(['count: must be an integer, got 2.5']);
    expect(problemsOf({ ...good, alarm: 0 })).toEqual(['alarm: must be a boolean, got number']);
    expect(problemsOf({ ...good, label: 5 })).toEqual(['label: must be a string, got number']);
    expect(problemsOf({ ...good, pm25: null })).toEqual(['pm25: must be a number, got null']);
    expect(problemsOf({ ...good, mode: ['auto'] })).toEqual(['mode: must be one of "auto", "manual", got array']);
  });

  it('refuses NaN and infinities', () => {
    expect(problemsOf({ ...good, pm25: Number.NaN })).toEqual(['pm25: must be a finite number, got NaN']);
    expect(problemsOf({ ...good, pm25: Number.POSITIVE_INFINITY })).toEqual([
      'pm25: must be a finite number, got Infinity',
    ]);
    expect(problemsOf({ ...good, count: Number.NEGATIVE_INFINITY })).toEqual([
      'count: must be a finite number, got -Infinity',
    ]);
  });

  it('refuses values out of range, naming the bound and unit', () => {
    expect(problemsOf({ ...good, pm25: 1000.5 })).toEqual(['pm25: 1000.5 is above the maximum 1000 ug/m3']);
    expect(problemsOf({ ...good, pm25: -1 })).toEqual(['pm25: -1 is below the minimum 0 ug/m3']);
    expect(problemsOf({ ...good, count: 11 })).toEqual(['count: 11 is above the maximum 10']);
  });

  it('refuses a value not in the enum and a string over its length', () => {
    expect(problemsOf({ ...good, mode: 'AUTO' })).toEqual(['mode: "AUTO" is not one of "auto", "manual"']);
    expect(problemsOf({ ...good, label: 'north-east' })).toEqual(['label: must be at most 8 characters, got 10']);
  });

  it('lists every problem of a reading', () => {
    expect(problemsOf({ pm25: -5, count: 'x', extra: true })).toEqual([
      'pm25: -5 is below the minimum 0 ug/m3',
      'count: must be an integer, got string',
      '"extra": unknown field',
      'alarm: required field is missing',
      'mode: required field is missing',
    ]);
  });

  it('refuses a reading that is not an object', () => {
    expect(problemsOf(null)).toEqual(['reading must be an object, got null']);
    expect(problemsOf([good])).toEqual(['reading must be an object, got array']);
    expect(problemsOf('{}')).toEqual(['reading must be an object, got string']);
  });

  it('ignores inherited properties and does not let __proto__ through', () => {
    expect(problemsOf(Object.create(good))).toContain('pm25: required field is missing');
    const hostile = JSON.parse(`{"pm25":1,"count":1,"alarm":true,"mode":"auto","__proto__":{"polluted":true}}`);
    expect(problemsOf(hostile)).toEqual(['"__proto__": unknown field']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('caps the problems listed for a reading with many bad keys', () => {
    const flood = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`junk${i}`, i]));
    const problems = problemsOf({ ...good, ...flood });
    expect(problems).toHaveLength(17);
    expect(problems.at(-1)).toBe('… and 984 more problem(s)');
  });

  it('compiles each type once', () => {
    expect(telemetryValidatorOf(station)).toBe(telemetryValidatorOf(station));
  });
});
