import { describe, expect, it } from 'vitest';
import { MeshError } from '../../common/errors/mesh-error.js';
import {
  formatResourceId,
  formatTrustDomain,
  isCityName,
  isClusterName,
  isDeviceId,
  parseCityName,
  parseClientId,
  parseClusterName,
  parseDeviceId,
  parseNodeName,
  parseResourceId,
  parseTrustDomain,
  parseVersion,
  withoutVersion,
} from '../../common/ids/index.js';

function meshErrorOf(fn: () => unknown): MeshError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    return err as MeshError;
  }
  throw new Error('expected a MeshError, nothing was thrown');
}

type Case = [input: unknown, field: string, rule: string];

function rejectsAll(parse: (input: unknown) => unknown, cases: Case[]): void {
  for (const [input, field, rule] of cases) {
    it(`rejects ${JSON.stringify(input) ?? String(input)} (${field}: ${rule})`, () => {
      const err = meshErrorOf(() => parse(input));
      expect(err.code).toBe('INVALID_IDENTIFIER');
      expect(err.details).toMatchObject({ field, rule });
      expect(err.message).toContain(field);
    });
  }
}

describe('cluster names', () => {
  it('accepts short lowercase names', () => {
    for (const name of ['jjj', 'prd', 'yrd', 'cy', 'a1234567890abcde']) expect(parseClusterName(name)).toBe(name);
  });
  it('says which pattern a bad name breaks', () => {
    expect(meshErrorOf(() => parseClusterName('JJJ')).message).toBe('cluster "JJJ" must match ^[a-z][a-z0-9]{1,15}$');
  });
  it('narrows with isClusterName', () => {
    expect(isClusterName('jjj')).toBe(true);
    expect(isClusterName('j-j')).toBe(false);
  });
  rejectsAll(parseClusterName, [
    ['', 'cluster', 'pattern'],
    ['j', 'cluster', 'pattern'],
    ['JJJ', 'cluster', 'pattern'],
    ['1jj', 'cluster', 'pattern'],
    ['j-j', 'cluster', 'pattern'],
    ['j.j', 'cluster', 'pattern'],
    ['a12345678901234567', 'cluster', 'pattern'],
    ['jjj\n', 'cluster', 'pattern'],
    [42, 'cluster', 'type'],
    [null, 'cluster', 'type'],
  ]);
});

describe('city names', () => {
  it('accepts lowercase names with single inner hyphens', () => {
    for (const name of ['beijing', 'taizhou-js', 'ma-an-shan', 'x1']) expect(parseCityName(name)).toBe(name);
  });
  it('names the field and the pattern', () => {
    const err = meshErrorOf(() => parseCityName('Bei Jing'));
    expect(err.message).toBe('city "Bei Jing" must match ^[a-z][a-z0-9-]{1,31}$');
    expect(err.details).toEqual({ field: 'city', rule: 'pattern', value: 'Bei Jing' });
  });
  it('reports a caller-chosen field name', () => {
    expect(meshErrorOf(() => parseCityName('X', 'node.city')).details.field).toBe('node.city');
  });
  it('narrows with isCityName', () => {
    expect(isCityName('taizhou-js')).toBe(true);
    expect(isCityName('bad-')).toBe(false);
    expect(isCityName('a--b')).toBe(false);
  });
  rejectsAll(parseCityName, [
    ['Bei Jing', 'city', 'pattern'],
    ['Beijing', 'city', 'pattern'],
    ['b', 'city', 'pattern'],
    ['-beijing', 'city', 'pattern'],
    ['9beijing', 'city', 'pattern'],
    ['bei_jing', 'city', 'pattern'],
    ['bei.jing', 'city', 'pattern'],
    ['北京', 'city', 'pattern'],
    [`b${'x'.repeat(32)}`, 'city', 'pattern'],
    ['beijing-', 'city', 'trailing-hyphen'],
    ['bei--jing', 'city', 'double-hyphen'],
    [undefined, 'city', 'type'],
  ]);
});

describe('trust domains', () => {
  it('formats and parses <city>.<cluster>.citymesh', () => {
    expect(formatTrustDomain('jjj', 'beijing')).toBe('beijing.jjj.citymesh');
    expect(parseTrustDomain('taizhou-js.yrd.citymesh')).toEqual({
      cluster: 'yrd',
      city: 'taizhou-js',
      name: 'taizhou-js.yrd.citymesh',
    });
    expect(Object.isFrozen(parseTrustDomain('beijing.jjj.citymesh'))).toBe(true);
  });
  rejectsAll(parseTrustDomain, [
    ['beijing.jjj.example', 'trustDomain', 'trust-domain-suffix'],
    ['beijing.jjj', 'trustDomain', 'trust-domain-suffix'],
    ['jjj.citymesh', 'trustDomain', 'trust-domain-shape'],
    ['a.beijing.jjj.citymesh', 'trustDomain', 'trust-domain-shape'],
    ['Beijing.jjj.citymesh', 'trustDomain.city', 'pattern'],
    ['beijing.j-j.citymesh', 'trustDomain.cluster', 'pattern'],
  ]);
});

describe('node names and client ids', () => {
  it('accepts DNS-label node names and SPIFFE-safe client ids', () => {
    expect(parseNodeName('node-1')).toBe('node-1');
    expect(parseClientId('Traffic.Dashboard_v2')).toBe('Traffic.Dashboard_v2');
  });
  rejectsAll(parseNodeName, [
    ['Node-1', 'nodeName', 'pattern'],
    ['-node', 'nodeName', 'pattern'],
    ['node_1', 'nodeName', 'pattern'],
    ['', 'nodeName', 'pattern'],
  ]);
  rejectsAll(parseClientId, [
    ['app:1', 'clientId', 'pattern'],
    ['.hidden', 'clientId', 'pattern'],
    ['a/b', 'clientId', 'pattern'],
    ['a%20b', 'clientId', 'pattern'],
  ]);
});

describe('device ids', () => {
  it('accepts manufacturer-style ids, colons included', () => {
    for (const id of ['cam-0001', 'urn:gb28181:34020000001320000001', 'A.b_c-d:e', 'x'])
      expect(parseDeviceId(id)).toBe(id);
    expect(isDeviceId(`a${'b'.repeat(127)}`)).toBe(true);
  });
  rejectsAll(parseDeviceId, [
    ['', 'deviceId', 'pattern'],
    ['-cam', 'deviceId', 'pattern'],
    [':cam', 'deviceId', 'pattern'],
    ['cam 1', 'deviceId', 'pattern'],
    ['cam/1', 'deviceId', 'pattern'],
    ['摄像头', 'deviceId', 'pattern'],
    [`a${'b'.repeat(128)}`, 'deviceId', 'pattern'],
    [7, 'deviceId', 'type'],
  ]);
});

describe('dataset and capability ids', () => {
  it('parses an unversioned id into frozen parts', () => {
    const id = parseResourceId('jjj/beijing/traffic-bureau/road.speeds');
    expect(id).toEqual({
      cluster: 'jjj',
      city: 'beijing',
      org: 'traffic-bureau',
      name: 'road.speeds',
      version: undefined,
      id: 'jjj/beijing/traffic-bureau/road.speeds',
    });
    expect(Object.isFrozen(id)).toBe(true);
  });

  it('parses a version and drops it with withoutVersion', () => {
    const id = parseResourceId('prd/shenzhen/health/clinic_queue@1.20.0');
    expect(id.version).toBe('1.20.0');
    const bare = withoutVersion(id);
    expect(bare.id).toBe('prd/shenzhen/health/clinic_queue');
    expect(bare.version).toBeUndefined();
    expect(withoutVersion(bare)).toBe(bare);
  });

  it('formats parts back to the same id', () => {
    const parts = { cluster: 'yrd', city: 'taizhou-zj', org: 'env', name: 'air-quality', version: '0.1.0' };
    expect(formatResourceId(parts)).toBe('yrd/taizhou-zj/env/air-quality@0.1.0');
    expect(parseResourceId(formatResourceId(parts))).toMatchObject(parts);
  });

  it('accepts plain semver versions only', () => {
    expect(parseVersion('0.0.0')).toBe('0.0.0');
    expect(parseVersion('10.200.3000')).toBe('10.200.3000');
  });

  rejectsAll(parseResourceId, [
    ['jjj/beijing/traffic', 'resourceId', 'shape'],
    ['jjj/beijing/traffic/speeds/extra', 'resourceId', 'shape'],
    ['/jjj/beijing/traffic/speeds', 'resourceId', 'shape'],
    ['JJJ/beijing/traffic/speeds', 'resourceId.cluster', 'pattern'],
    ['jjj/Beijing/traffic/speeds', 'resourceId.city', 'pattern'],
    ['jjj/beijing-/traffic/speeds', 'resourceId.city', 'trailing-hyphen'],
    ['jjj/beijing/Traffic/speeds', 'resourceId.org', 'pattern'],
    ['jjj/beijing/-traffic/speeds', 'resourceId.org', 'pattern'],
    ['jjj/beijing//speeds', 'resourceId.org', 'pattern'],
    ['jjj/beijing/traffic/road speeds', 'resourceId.name', 'pattern'],
    [`jjj/beijing/traffic/${'a'.repeat(65)}`, 'resourceId.name', 'pattern'],
    ['jjj/beijing/traffic/speeds@', 'resourceId.version', 'pattern'],
    ['jjj/beijing/traffic/speeds@1.0', 'resourceId.version', 'pattern'],
    ['jjj/beijing/traffic/speeds@v1.0.0', 'resourceId.version', 'pattern'],
    ['jjj/beijing/traffic/speeds@01.0.0', 'resourceId.version', 'pattern'],
    ['jjj/beijing/traffic/speeds@1.0.0-rc.1', 'resourceId.version', 'pattern'],
    ['jjj/beijing/traffic/speeds@1.0.0+build', 'resourceId.version', 'pattern'],
    ['jjj/beijing/traffic/speeds@1.0.0@2.0.0', 'resourceId.version', 'pattern'],
    ['jjj/beijing/traffic/speeds@99999999999999999.0.0', 'resourceId.version', 'version-range'],
    [{}, 'resourceId', 'type'],
  ]);
});
