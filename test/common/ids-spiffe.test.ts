import { describe, expect, it } from 'vitest';
import { MeshError } from '../../common/errors/mesh-error.js';
import { formatSpiffeId, parseSpiffeId, parseSpiffeUri, spiffeIdOf } from '../../common/ids/index.js';

function meshErrorOf(fn: () => unknown): MeshError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    return err as MeshError;
  }
  throw new Error('expected a MeshError, nothing was thrown');
}

const TD = 'spiffe://beijing.jjj.citymesh';

describe('parseSpiffeId', () => {
  it('parses a node, an app and a device identity into frozen parts', () => {
    expect(parseSpiffeId(`${TD}/node/node-1`)).toEqual({
      cluster: 'jjj',
      city: 'beijing',
      kind: 'node',
      name: 'node-1',
      trustDomain: 'beijing.jjj.citymesh',
      uri: `${TD}/node/node-1`,
    });
    expect(parseSpiffeId('spiffe://taizhou-js.yrd.citymesh/app/Traffic.Dashboard_v2')).toMatchObject({
      kind: 'app',
      name: 'Traffic.Dashboard_v2',
      city: 'taizhou-js',
      cluster: 'yrd',
    });
    expect(parseSpiffeId(`${TD}/device/cam-0001`)).toMatchObject({ kind: 'device', name: 'cam-0001' });
    expect(Object.isFrozen(parseSpiffeId(`${TD}/device/cam-0001`))).toBe(true);
  });

  it('round-trips through formatSpiffeId', () => {
    const parts = { cluster: 'prd', city: 'hongkong', kind: 'app', name: 'tourism-api' } as const;
    const uri = formatSpiffeId(parts);
    expect(uri).toBe('spiffe://hongkong.prd.citymesh/app/tourism-api');
    expect(parseSpiffeId(uri)).toMatchObject(parts);
    expect(spiffeIdOf(parts).uri).toBe(uri);
  });

  const cases: [name: string, input: unknown, field: string, rule: string][] = [
    // SPIFFE-ID spec rules
    ['a non-string', 42, 'spiffeId', 'type'],
    ['an uppercase scheme', 'SPIFFE://beijing.jjj.citymesh/node/n1', 'spiffeId', 'scheme'],
    ['a mixed-case scheme', 'Spiffe://beijing.jjj.citymesh/node/n1', 'spiffeId', 'scheme'],
    ['another scheme', 'https://beijing.jjj.citymesh/node/n1', 'spiffeId', 'scheme'],
    ['a missing authority slash', 'spiffe:beijing.jjj.citymesh/node/n1', 'spiffeId', 'scheme'],
    ['a port', 'spiffe://beijing.jjj.citymesh:8443/node/n1', 'spiffeId', 'port'],
    ['a bare port delimiter', 'spiffe://beijing.jjj.citymesh:/node/n1', 'spiffeId', 'port'],
    ['userinfo', 'spiffe://admin@beijing.jjj.citymesh/node/n1', 'spiffeId', 'userinfo'],
    ['a query', `${TD}/node/n1?x=1`, 'spiffeId', 'query'],
    ['an empty query', `${TD}/node/n1?`, 'spiffeId', 'query'],
    ['a fragment', `${TD}/node/n1#frag`, 'spiffeId', 'fragment'],
    ['percent-encoding in the path', `${TD}/node/n%31`, 'spiffeId', 'percent-encoding'],
    ['percent-encoding in the trust domain', 'spiffe://beijing%2Ejjj.citymesh/node/n1', 'spiffeId', 'percent-encoding'],
    ['an empty trust domain', 'spiffe:///node/n1', 'spiffeId', 'trust-domain-empty'],
    ['an uppercase trust domain', 'spiffe://Beijing.jjj.citymesh/node/n1', 'spiffeId', 'trust-domain-chars'],
    ['a trust domain with a space', 'spiffe://bei jing.jjj.citymesh/node/n1', 'spiffeId', 'trust-domain-chars'],
    ['a trailing slash', `${TD}/node/n1/`, 'spiffeId', 'trailing-slash'],
    ['a lone trailing slash', `${TD}/`, 'spiffeId', 'trailing-slash'],
    ['an empty segment', `${TD}/node//n1`, 'spiffeId', 'path-empty-segment'],
    ['a ".." segment', `${TD}/node/../app/x`, 'spiffeId', 'path-dot-segment'],
    ['a "." segment', `${TD}/./node/n1`, 'spiffeId', 'path-dot-segment'],
    ['a ".." name', `${TD}/node/..`, 'spiffeId', 'path-dot-segment'],
    ['a path character outside [A-Za-z0-9._-]', `${TD}/device/cam:1`, 'spiffeId', 'path-chars'],
    ['a non-ASCII path', `${TD}/node/节点`, 'spiffeId', 'path-chars'],
    ['more than 2048 bytes', `${TD}/node/${'a'.repeat(2048)}`, 'spiffeId', 'max-length'],
    // citymesh rules
    [
      'a trust domain outside citymesh',
      'spiffe://beijing.jjj.example/node/n1',
      'spiffeId.trustDomain',
      'trust-domain-suffix',
    ],
    [
      'a trust domain with a citymesh-like suffix',
      'spiffe://beijing.jjj.citymesh.evil/node/n1',
      'spiffeId.trustDomain',
      'trust-domain-suffix',
    ],
    ['a cluster-level trust domain', 'spiffe://jjj.citymesh/node/n1', 'spiffeId.trustDomain', 'trust-domain-shape'],
    [
      'an extra trust domain label',
      'spiffe://x.beijing.jjj.citymesh/node/n1',
      'spiffeId.trustDomain',
      'trust-domain-shape',
    ],
    [
      'a bad city in the trust domain',
      'spiffe://bei_jing.jjj.citymesh/node/n1',
      'spiffeId.trustDomain.city',
      'pattern',
    ],
    ['no path', TD, 'spiffeId', 'path-shape'],
    ['one path segment', `${TD}/node`, 'spiffeId', 'path-shape'],
    ['two name segments', `${TD}/node/n1/extra`, 'spiffeId', 'path-shape'],
    ['an unknown kind', `${TD}/service/n1`, 'spiffeId', 'kind'],
    ['an uppercase kind', `${TD}/Node/n1`, 'spiffeId', 'kind'],
    ['a node name breaking its rule', `${TD}/node/Node_1`, 'spiffeId.name', 'pattern'],
    ['a client id breaking its rule', `${TD}/app/-app`, 'spiffeId.name', 'pattern'],
    ['a device id breaking its rule', `${TD}/device/-cam`, 'spiffeId.name', 'pattern'],
  ];
  for (const [name, input, field, rule] of cases) {
    it(`rejects ${name}`, () => {
      const err = meshErrorOf(() => parseSpiffeId(input));
      expect(err.code).toBe('INVALID_IDENTIFIER');
      expect(err.details).toMatchObject({ field, rule });
    });
  }
});

describe('parseSpiffeUri (the SPIFFE spec alone)', () => {
  it('accepts foreign trust domains, deep paths and a bare trust domain', () => {
    expect(parseSpiffeUri('spiffe://example.org/ns/staging/sa/default')).toEqual({
      trustDomain: 'example.org',
      segments: ['ns', 'staging', 'sa', 'default'],
      uri: 'spiffe://example.org/ns/staging/sa/default',
    });
    expect(parseSpiffeUri('spiffe://example_org-1.test').segments).toEqual([]);
  });

  it('accepts exactly 2048 bytes and no more', () => {
    const prefix = 'spiffe://example.org/';
    expect(() => parseSpiffeUri(prefix + 'a'.repeat(2048 - prefix.length))).not.toThrow();
    expect(meshErrorOf(() => parseSpiffeUri(prefix + 'a'.repeat(2049 - prefix.length))).details.rule).toBe(
      'max-length',
    );
  });

  it('rejects a trust domain longer than 255 bytes', () => {
    expect(meshErrorOf(() => parseSpiffeUri(`spiffe://${'a'.repeat(256)}/x`)).details.rule).toBe('trust-domain-length');
  });
});

describe('formatSpiffeId', () => {
  const cases: [name: string, parts: Parameters<typeof formatSpiffeId>[0], field: string, rule: string][] = [
    ['a bad city', { cluster: 'jjj', city: 'Bei Jing', kind: 'node', name: 'n1' }, 'city', 'pattern'],
    ['a bad cluster', { cluster: 'J', city: 'beijing', kind: 'node', name: 'n1' }, 'cluster', 'pattern'],
    ['an unknown kind', { cluster: 'jjj', city: 'beijing', kind: 'svc' as never, name: 'n1' }, 'kind', 'kind'],
    [
      'a device id with ":"',
      { cluster: 'jjj', city: 'beijing', kind: 'device', name: 'urn:cam:1' },
      'name',
      'spiffe-segment',
    ],
    ['a node name with a slash', { cluster: 'jjj', city: 'beijing', kind: 'node', name: 'a/b' }, 'name', 'pattern'],
  ];
  for (const [name, parts, field, rule] of cases) {
    it(`refuses ${name}`, () => {
      const err = meshErrorOf(() => formatSpiffeId(parts));
      expect(err.code).toBe('INVALID_IDENTIFIER');
      expect(err.details).toMatchObject({ field, rule });
    });
  }
});
