import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configIssuesOf } from '../../../common/config/load-config.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { INDUSTRIES } from '../../../common/ids/industry.js';
import {
  deferredTaxonomy,
  type LoadTaxonomyOptions,
  loadTaxonomy,
  type TaxonomyIssue,
} from '../../../nodes/devices/taxonomy/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Writes each file (objects as JSON, strings verbatim) into a fresh temporary directory. */
function fixture(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'taxonomy-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

const SMALL: LoadTaxonomyOptions = { minTypesPerIndustry: 1, requireEveryIndustry: false };

const pm25 = () => ({ name: 'pm25', type: 'number', unit: 'ug/m3', min: 0, max: 1000 });
const deviceType = (id: string, overrides: Record<string, unknown> = {}) => ({
  id,
  name: 'PM2.5 monitor',
  description: 'Fine particulate monitor',
  source: { catalogue: 'fiware', ref: 'AirQualityObserved' },
  fields: [pm25()],
  ...overrides,
});

function issuesOf(files: Record<string, unknown>, options: LoadTaxonomyOptions = SMALL): TaxonomyIssue[] {
  const dir = fixture(files);
  try {
    loadTaxonomy({ ...options, dir });
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    expect((err as MeshError).code).toBe('INVALID_CONFIG');
    return configIssuesOf(err) as TaxonomyIssue[];
  }
  throw new Error('expected the taxonomy to be refused');
}

/** The one issue with this rule; its message must start with its file. */
function only(issues: readonly TaxonomyIssue[], rule: string): TaxonomyIssue {
  const matching = issues.filter((issue) => issue.rule === rule);
  expect(matching, JSON.stringify(issues, null, 2)).toHaveLength(1);
  const issue = matching[0] as TaxonomyIssue;
  expect(issue.message.startsWith(`${issue.file}: `)).toBe(true);
  return issue;
}

describe('taxonomy loader', () => {
  it('loads a small valid fixture', () => {
    const dir = fixture({ 'environment.json': { types: [deviceType('pm25-monitor')] } });
    const taxonomy = loadTaxonomy({ ...SMALL, dir });
    expect(taxonomy.industries()).toEqual(['environment']);
    expect(taxonomy.type('environment', 'pm25-monitor').fields[0]).toEqual({ ...pm25(), required: true });
  });

  it('fills defaults: required true, string maxLength 256', () => {
    const type = deviceType('plate-reader', { fields: [{ name: 'plate', type: 'string' }] });
    const dir = fixture({ 'transport.json': { types: [type] } });
    const field = loadTaxonomy({ ...SMALL, dir }).type('transport', 'plate-reader').fields[0];
    expect(field).toEqual({ name: 'plate', type: 'string', maxLength: 256, required: true });
  });

  it('refuses a file not named after a registered industry, with a suggestion', () => {
    const issue = only(issuesOf({ 'enviroment.json': { types: [deviceType('a')] } }), 'file-name');
    expect(issue.message).toBe(
      'enviroment.json: file name is not <industry-id>.json of a registered industry (did you mean "environment.json"?)',
    );
  });

  it('reports a file that is not JSON', () => {
    const issue = only(issuesOf({ 'health.json': '{ "types": [' }), 'json');
    expect(issue.message).toMatch(/^health\.json: not valid JSON: /);
  });

  it('reports each missing industry file when all are required', () => {
    const issues = issuesOf({ 'health.json': { types: [deviceType('a')] } }, { minTypesPerIndustry: 1 });
    const missing = issues.filter((issue) => issue.rule === 'missing-file').map((issue) => issue.file);
    expect(missing).toHaveLength(11);
    expect(missing).toContain('environment.json');
    expect(missing).not.toContain('health.json');
  });

  it('requires the minimum number of types per industry', () => {
    const issues = issuesOf({ 'health.json': { types: [deviceType('a')] } }, { ...SMALL, minTypesPerIndustry: 100 });
    expect(only(issues, 'min-types').message).toBe('health.json: types: has 1 device type(s), at least 100 required');
  });

  it('refuses unknown keys with a suggestion (strict objects)', () => {
    const type = { ...deviceType('a'), nmae: 'x' };
    const issue = only(issuesOf({ 'health.json': { types: [type] } }), 'unknown-key');
    expect(issue.path).toBe('types[0].nmae');
    expect(issue.message).toBe('health.json: types[0]: unknown key "nmae" (did you mean "name"?)');
  });

  it('refuses an id that is not kebab-case', () => {
    const issues = issuesOf({ 'health.json': { types: [deviceType('Infusion_Pump')] } });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('types[0].id');
    expect(issues[0]?.message).toMatch(/^health\.json: types\[0\]\.id: must match /);
  });

  it('refuses duplicate ids, naming the first occurrence', () => {
    const issue = only(
      issuesOf({ 'health.json': { types: [deviceType('a'), deviceType('b'), deviceType('a')] } }),
      'unique-id',
    );
    expect(issue.message).toBe('health.json: types[2].id: duplicate id "a" (first at types[0])');
  });

  it('refuses min above max at the max of that field', () => {
    const fields = [pm25(), { name: 'pm10', type: 'number', unit: 'ug/m3', min: 10, max: 5 }];
    const issue = only(issuesOf({ 'environment.json': { types: [deviceType('a', { fields })] } }), 'min-max');
    expect(issue.message).toBe('environment.json: types[0].fields[1].max: max 5 is below min 10');
  });

  it('requires a unit on numeric fields', () => {
    const fields = [{ name: 'count', type: 'integer', min: 0, max: 5 }];
    const issue = only(issuesOf({ 'health.json': { types: [deviceType('a', { fields })] } }), 'required');
    expect(issue.path).toBe('types[0].fields[0].unit');
  });

  it('refuses an unknown unit with a suggestion', () => {
    const fields = [{ name: 'temperature', type: 'number', unit: 'cel', min: -40, max: 85 }];
    const issue = only(issuesOf({ 'health.json': { types: [deviceType('a', { fields })] } }), 'known-unit');
    expect(issue.message).toBe('health.json: types[0].fields[0].unit: unknown unit "cel" (did you mean "Cel"?)');
  });

  it('requires integer bounds on integer fields', () => {
    const fields = [{ name: 'count', type: 'integer', unit: '1', min: 0, max: 2.5 }];
    const issue = only(issuesOf({ 'health.json': { types: [deviceType('a', { fields })] } }), 'integer-bound');
    expect(issue.path).toBe('types[0].fields[0].max');
  });

  it('requires at least two different enum values', () => {
    const one = [{ name: 'mode', type: 'enum', values: ['auto'] }];
    expect(only(issuesOf({ 'health.json': { types: [deviceType('a', { fields: one })] } }), 'min').path).toBe(
      'types[0].fields[0].values',
    );
    const repeated = [{ name: 'mode', type: 'enum', values: ['auto', 'auto'] }];
    const issues = issuesOf({ 'health.json': { types: [deviceType('a', { fields: repeated })] } });
    expect(only(issues, 'unique-values').message).toBe('health.json: types[0].fields[0].values: repeats "auto"');
    expect(only(issues, 'enum-values').path).toBe('types[0].fields[0].values');
  });

  it('refuses duplicate field names and unknown field types', () => {
    const fields = [pm25(), pm25(), { name: 'x', type: 'float', unit: '1', min: 0, max: 1 }];
    const issues = issuesOf({ 'health.json': { types: [deviceType('a', { fields })] } });
    expect(issues.map((issue) => [issue.path, issue.rule])).toEqual(
      expect.arrayContaining([
        ['types[0].fields[2].type', 'one-of'],
        ['types[0].fields[1].name', 'unique-field'],
      ]),
    );
  });

  it('refuses an unknown catalogue and a reference not spelt the catalogue way', () => {
    const unknown = deviceType('a', { source: { catalogue: 'zigbee', ref: 'TemperatureSensor' } });
    const misspelt = deviceType('b', { source: { catalogue: 'lwm2m', ref: 'Temperature' } });
    const issues = issuesOf({ 'health.json': { types: [unknown, misspelt] } });
    expect(only(issues, 'one-of').path).toBe('types[0].source.catalogue');
    expect(only(issues, 'ref-format').message).toMatch(
      /^health\.json: types\[1\]\.source\.ref: "Temperature" is not a lwm2m reference/,
    );
  });

  it('lists every problem of every file at once, schema and cross checks alike', () => {
    const brokenSchema = deviceType('a', { fields: [] });
    const brokenField = deviceType('e', {
      fields: [
        { ...pm25(), unit: 'ugm3' },
        { name: 'x', type: 'number' },
      ],
    });
    const issues = issuesOf({
      'health.json': { types: [brokenSchema, deviceType('b'), deviceType('b'), brokenField] },
      'environment.json': { types: [deviceType('c', { fields: [{ ...pm25(), min: 9, max: 1 }] })] },
      'heath.json': { types: [deviceType('d')] },
    });
    expect(issues.map((issue) => `${issue.file} ${issue.path} ${issue.rule}`).sort()).toEqual([
      'environment.json types[0].fields[0].max min-max',
      'health.json types[0].fields min',
      'health.json types[2].id unique-id',
      'health.json types[3].fields[0].unit known-unit',
      'health.json types[3].fields[1].max required',
      'health.json types[3].fields[1].min required',
      'health.json types[3].fields[1].unit required',
      'heath.json  file-name',
    ]);
  });

  it('puts every issue in the error message, and the first in the details', () => {
    const dir = fixture({
      'health.json': { types: [deviceType('a'), deviceType('a')] },
      'x.json': { types: [deviceType('b')] },
    });
    try {
      loadTaxonomy({ ...SMALL, dir });
      expect.unreachable();
    } catch (err) {
      const error = err as MeshError;
      expect(error.message.split('\n')[0]).toBe('device taxonomy is invalid (2 issues):');
      expect(error.message).toContain('  - health.json: types[1].id: duplicate id "a" (first at types[0]) [unique-id]');
      expect(error.message).toContain(
        '  - x.json: file name is not <industry-id>.json of a registered industry [file-name]',
      );
      expect(error.details).toMatchObject({ service: 'device taxonomy', file: 'health.json', issues: 2 });
    }
  });

  it('takes already-read documents instead of a directory', () => {
    const taxonomy = loadTaxonomy({ ...SMALL, documents: { 'tourism.json': { types: [deviceType('kiosk')] } } });
    expect(taxonomy.types('tourism').map((type) => type.id)).toEqual(['kiosk']);
  });
});

describe('deferred taxonomy', () => {
  const shipped = new URL('../../../nodes/devices/taxonomy/data/', import.meta.url).pathname;
  const everyIndustry = (content: unknown) =>
    Object.fromEntries(INDUSTRIES.map((industry) => [`${industry.id}.json`, content]));

  it('answers as the loaded taxonomy does, from its first use', () => {
    const deferred = deferredTaxonomy({ dir: shipped });
    const loaded = loadTaxonomy({ dir: shipped });
    expect(deferred.size).toBe(loaded.size);
    expect(deferred.industries()).toEqual(loaded.industries());
    expect(deferred.type('environment', 'pm25-monitor')).toEqual(loaded.type('environment', 'pm25-monitor'));
    expect(deferred.find('environment', 'no-such-type')).toBeUndefined();
    expect(deferred.types('health')).toEqual(loaded.types('health'));
  });

  it('refuses a folder missing an industry file at once, naming every missing file', () => {
    const files = everyIndustry({ types: [] });
    delete files['health.json'];
    delete files['tourism.json'];
    const dir = fixture(files);
    let error: MeshError | undefined;
    try {
      deferredTaxonomy({ dir });
    } catch (err) {
      error = err as MeshError;
    }
    expect(error).toBeInstanceOf(MeshError);
    expect(error?.code).toBe('INVALID_CONFIG');
    const issues = configIssuesOf(error) as TaxonomyIssue[];
    expect(issues.map((issue) => `${issue.file} ${issue.rule}`).sort()).toEqual([
      'health.json missing-file',
      'tourism.json missing-file',
    ]);
  });

  it('reads no file until first used, then fails each use with the loader message', () => {
    const dir = fixture({ ...everyIndustry({ types: [] }), 'energy.json': '{ not json' });
    const deferred = deferredTaxonomy({ dir });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        deferred.find('energy', 'smart-meter');
        expect.unreachable();
      } catch (err) {
        expect((err as MeshError).code).toBe('INVALID_CONFIG');
        expect((err as MeshError).message).toContain('energy.json: not valid JSON');
      }
    }
  });
});
