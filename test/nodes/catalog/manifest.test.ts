import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MeshError } from '../../../common/errors/mesh-error.js';
import { type ManifestInput, manifestIssuesOf, parseManifest } from '../../../nodes/catalog/index.js';
import { tempDir } from './support.js';

const NODE = { cluster: 'jjj', city: 'beijing' };

type Fields = Record<string, unknown>;
type Draft = Fields & { datasets: Fields[]; capabilities: Fields[] };

function manifest(change: (m: Draft) => void = () => {}): ManifestInput {
  const m: Draft = {
    manifestVersion: 1,
    cluster: 'jjj',
    city: 'beijing',
    datasets: [
      {
        name: 'bus-stops',
        ownerOrg: 'transport-commission',
        version: '1.0.0',
        title: 'Bus stops',
        industry: 'transport',
        regionCode: '110105',
        classification: 'public',
        license: 'CC-BY-4.0',
        schema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      },
    ],
    capabilities: [
      {
        name: 'region-lookup',
        ownerOrg: 'civil-affairs-bureau',
        version: '2.1.0',
        title: 'Region lookup',
        industry: 'public-services',
        regionCode: '110000',
        classification: 'internal',
        license: 'CC-BY-4.0',
        backend: { builtin: 'region-lookup' },
      },
    ],
  };
  change(m);
  return m as unknown as ManifestInput;
}

function failure(source: string | object): MeshError {
  try {
    parseManifest(source, NODE);
  } catch (err) {
    return err as MeshError;
  }
  throw new Error('expected the manifest to be refused');
}

describe('parseManifest', () => {
  it('turns a manifest into catalog entries of the node city, with levels from region codes', () => {
    const parsed = parseManifest(manifest(), NODE);
    expect(parsed.entries).toEqual([
      expect.objectContaining({
        id: 'jjj/beijing/transport-commission/bus-stops',
        version: '1.0.0',
        kind: 'dataset',
        city: 'beijing',
        ownerOrg: 'transport-commission',
        level: 'district',
        description: '',
        requiresAgreement: false,
      }),
      expect.objectContaining({
        id: 'jjj/beijing/civil-affairs-bureau/region-lookup',
        kind: 'capability',
        level: 'province',
      }),
    ]);
    // A built-in's own request schema stands in when the manifest gives none.
    expect(parsed.entries[1]?.schema).toMatchObject({ required: ['regionCode'] });
    expect(parsed.backends).toEqual([
      expect.objectContaining({
        id: 'jjj/beijing/civil-affairs-bureau/region-lookup',
        version: '2.1.0',
        backend: { kind: 'builtin', handler: 'region-lookup' },
      }),
    ]);
  });

  it('reads YAML with unquoted region codes, and names the file in errors', () => {
    const dir = tempDir();
    const good = join(dir, 'catalog.yaml');
    writeFileSync(
      good,
      [
        'manifestVersion: 1',
        'cluster: jjj',
        'city: beijing',
        'datasets:',
        '  - name: parks',
        '    ownerOrg: landscape-bureau',
        '    version: 1.0.0',
        '    title: Parks',
        '    industry: public-services',
        '    regionCode: 110108',
        '    classification: public',
        '    license: CC0-1.0',
        '    requiresAgreement: true',
        '    schema: { type: object }',
      ].join('\n'),
    );
    expect(parseManifest(good, NODE).entries[0]).toMatchObject({ regionCode: '110108', requiresAgreement: true });
    const bad = join(dir, 'broken.yaml');
    writeFileSync(bad, 'datasets: [\n');
    const err = failure(bad);
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.message).toContain(`manifest ${bad}`);
    expect(err.details.rule).toBe('file-syntax');
  });

  it('names an unknown key with the entry and suggests the intended one', () => {
    const err = failure(
      manifest((m) => {
        m.datasets[0]!.clasification = m.datasets[0]!.classification;
        delete m.datasets[0]!.classification;
      }),
    );
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.message).toContain(
      'dataset "bus-stops": datasets[0]: unknown key "clasification" (did you mean "classification"?)',
    );
    expect(err.details).toMatchObject({
      entry: 'dataset "bus-stops"',
      field: 'datasets[0].clasification',
      rule: 'unknown-key',
    });
  });

  it('lists the allowed classifications for a wrong one', () => {
    const err = failure(manifest((m) => (m.capabilities[0]!.classification = 'secret')));
    expect(err.message).toContain(
      'capability "region-lookup": capabilities[0].classification: must be one of "public", "internal", "sensitive", "restricted"',
    );
    expect(err.details).toMatchObject({ field: 'capabilities[0].classification', rule: 'one-of' });
  });

  it('refuses a region code outside the city', () => {
    const err = failure(manifest((m) => (m.datasets[0]!.regionCode = '120101')));
    expect(err.message).toContain('datasets[0].regionCode: 120101 is not within beijing (110000)');
    expect(err.details).toMatchObject({ entry: 'dataset "bus-stops"', rule: 'region-in-city' });
  });

  it('refuses a level that does not match the region code', () => {
    const err = failure(manifest((m) => (m.datasets[0]!.level = 'city')));
    expect(err.message).toContain('"city" does not match region 110105, which is a district-level code');
    expect(err.details).toMatchObject({ field: 'datasets[0].level', rule: 'level' });
  });

  it('refuses a manifest for another city', () => {
    const err = failure(manifest((m) => (m.city = 'tianjin')));
    expect(err.message).toContain('the manifest is for jjj/tianjin, but this node serves jjj/beijing');
    expect(err.details).toMatchObject({ field: 'city', rule: 'own-city' });
  });

  it('suggests a registered industry for a misspelt one', () => {
    const err = failure(manifest((m) => (m.datasets[0]!.industry = 'transprot')));
    expect(err.message).toContain('"transprot" is not a registered industry (did you mean "transport"?)');
  });

  it('refuses record schemas ajv would not apply strictly, and non-object records', () => {
    const typo = failure(manifest((m) => (m.datasets[0]!.schema = { type: 'object', propertees: {} })));
    expect(typo.details).toMatchObject({ field: 'datasets[0].schema', rule: 'json-schema' });
    expect(typo.message).toContain('propertees');
    const scalar = failure(manifest((m) => (m.datasets[0]!.schema = { type: 'string' })));
    expect(scalar.message).toContain('a record schema must have "type": "object"');
  });

  it('checks capability backends', () => {
    const both = failure(manifest((m) => (m.capabilities[0]!.backend = { builtin: 'region-lookup', url: 'http://x' })));
    expect(both.message).toContain('needs exactly one of "builtin" or "url"');
    const unknown = failure(manifest((m) => (m.capabilities[0]!.backend = { builtin: 'region-lookpu' })));
    expect(unknown.message).toContain('no built-in handler "region-lookpu" (did you mean "region-lookup"?)');
    const noData = failure(manifest((m) => (m.capabilities[0]!.backend = { builtin: 'air-quality-summary' })));
    expect(noData.message).toContain('needs "dataset"');
    const upstream = failure(manifest((m) => (m.capabilities[0]!.backend = { url: 'ftp://internal/lookup' })));
    expect(upstream.message).toContain('must be an http or https URL');
    expect(upstream.message).toContain('needs its request schema');
  });

  it('refuses the same entry listed twice and reports every issue at once', () => {
    const err = failure(
      manifest((m) => {
        m.datasets.push({ ...m.datasets[0]!, version: '1.1.0' });
        m.datasets[0]!.regionCode = '130100';
      }),
    );
    const rules = manifestIssuesOf(err).map((i) => i.rule);
    expect(rules).toEqual(expect.arrayContaining(['unique-entry', 'region-in-city']));
    expect(err.message).toMatch(/is invalid \(2 issues\)/);
  });
});
