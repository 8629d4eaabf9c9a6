import { describe, expect, it } from 'vitest';
import { configIssuesOf } from '../../common/config/index.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import { loadNodeConfig } from '../../nodes/config.js';
import { loadTrustAnchorConfig } from '../../trust-anchor/config.js';

function meshErrorOf(fn: () => unknown): MeshError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    return err as MeshError;
  }
  throw new Error('expected a MeshError, nothing was thrown');
}

const anchor = (overrides: Record<string, unknown> = {}, top: Record<string, unknown> = {}) => ({
  ...top,
  anchor: {
    cluster: 'jjj',
    entityId: 'https://anchor.jjj.example.cn',
    listen: { port: 8443 },
    dataDir: '/var/lib/citymesh/anchor',
    ...overrides,
  },
});

const node = (overrides: Record<string, unknown> = {}, top: Record<string, unknown> = {}) => ({
  ...top,
  node: {
    cluster: 'jjj',
    city: 'beijing',
    nodeName: 'node-1',
    entityId: 'https://beijing.jjj.example.cn',
    anchorUrl: 'https://anchor.jjj.example.cn',
    listen: { port: 7443, httpsPort: 8443 },
    dataDir: '/var/lib/citymesh/beijing',
    store: { kind: 'sqlite', path: 'citymesh.db' },
    ...overrides,
  },
});

describe('trust anchor config', () => {
  it('fills production defaults: 24 h offline budget and certificates, 7-day city CAs, 1 h join tokens', () => {
    const config = loadTrustAnchorConfig(anchor());
    expect(config).toEqual({
      mode: 'production',
      allowInsecureDevDefaults: false,
      anchor: {
        cluster: 'jjj',
        entityId: 'https://anchor.jjj.example.cn',
        listen: { host: '127.0.0.1', port: 8443 },
        dataDir: '/var/lib/citymesh/anchor',
        metadataLifetimeSeconds: 86_400,
        certificateLifetimeHours: 24,
        cityCaLifetimeHours: 168,
        joinTokenLifetimeSeconds: 3_600,
      },
    });
    expect(Object.isFrozen(config.anchor)).toBe(true);
  });

  it('refuses development defaults in production', () => {
    const err = meshErrorOf(() =>
      loadTrustAnchorConfig(anchor({}, { mode: 'production', allowInsecureDevDefaults: true })),
    );
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.details).toMatchObject({ path: 'allowInsecureDevDefaults', rule: 'dev-defaults-in-production' });
  });

  it('refuses development defaults when the mode is left to its production default', () => {
    const err = meshErrorOf(() => loadTrustAnchorConfig(anchor({}, { allowInsecureDevDefaults: true })));
    expect(err.details.rule).toBe('dev-defaults-in-production');
  });

  it('allows an http loopback entity id only with development defaults in development', () => {
    const local = { entityId: 'http://localhost:8080' };
    expect(
      loadTrustAnchorConfig(anchor(local, { mode: 'development', allowInsecureDevDefaults: true })).anchor.entityId,
    ).toBe('http://localhost:8080');
    expect(meshErrorOf(() => loadTrustAnchorConfig(anchor(local, { mode: 'development' }))).details).toMatchObject({
      path: 'anchor.entityId',
      rule: 'entity-id-https',
    });
    const remote = { entityId: 'http://anchor.jjj.example.cn' };
    expect(
      meshErrorOf(() => loadTrustAnchorConfig(anchor(remote, { mode: 'development', allowInsecureDevDefaults: true })))
        .details.rule,
    ).toBe('entity-id-https');
  });

  it('reports both the dev-defaults refusal and the http entity id in production', () => {
    const err = meshErrorOf(() =>
      loadTrustAnchorConfig(anchor({ entityId: 'http://localhost' }, { allowInsecureDevDefaults: true })),
    );
    expect(configIssuesOf(err).map((issue) => issue.rule)).toEqual(['dev-defaults-in-production', 'entity-id-https']);
  });

  it('keeps the offline budget within the city CA lifetime', () => {
    const err = meshErrorOf(() =>
      loadTrustAnchorConfig(anchor({ metadataLifetimeSeconds: 2 * 86_400, cityCaLifetimeHours: 24 })),
    );
    expect(err.details).toMatchObject({
      path: 'anchor.metadataLifetimeSeconds',
      rule: 'offline-budget-within-city-ca-lifetime',
    });
    expect(
      loadTrustAnchorConfig(anchor({ metadataLifetimeSeconds: 2 * 86_400, cityCaLifetimeHours: 48 })).anchor
        .metadataLifetimeSeconds,
    ).toBe(172_800);
  });

  it('refuses node certificates that would outlive their city CA', () => {
    const err = meshErrorOf(() =>
      loadTrustAnchorConfig(anchor({ certificateLifetimeHours: 48, cityCaLifetimeHours: 24 })),
    );
    expect(err.details).toMatchObject({
      path: 'anchor.certificateLifetimeHours',
      rule: 'city-ca-outlives-certificates',
    });
  });

  const cases: [name: string, overrides: Record<string, unknown>, path: string, rule: string][] = [
    ['a metadata lifetime under 60 s', { metadataLifetimeSeconds: 59 }, 'anchor.metadataLifetimeSeconds', 'min'],
    ['a fractional metadata lifetime', { metadataLifetimeSeconds: 60.5 }, 'anchor.metadataLifetimeSeconds', 'type'],
    ['a certificate lifetime over 720 h', { certificateLifetimeHours: 721 }, 'anchor.certificateLifetimeHours', 'max'],
    ['a certificate lifetime of 0 h', { certificateLifetimeHours: 0 }, 'anchor.certificateLifetimeHours', 'min'],
    [
      'a join token lifetime over 7 days',
      { joinTokenLifetimeSeconds: 604_801 },
      'anchor.joinTokenLifetimeSeconds',
      'max',
    ],
    ['a bad cluster', { cluster: 'J-J' }, 'anchor.cluster', 'pattern'],
    ['an entity id that is no URL', { entityId: 'anchor.jjj' }, 'anchor.entityId', 'entity-id'],
    ['an entity id with a query', { entityId: 'https://anchor.jjj.example.cn/?a=1' }, 'anchor.entityId', 'entity-id'],
    ['an entity id with a fragment', { entityId: 'https://anchor.jjj.example.cn/#x' }, 'anchor.entityId', 'entity-id'],
    [
      'an entity id with credentials',
      { entityId: 'https://u:p@anchor.jjj.example.cn' },
      'anchor.entityId',
      'entity-id',
    ],
    ['an ftp entity id', { entityId: 'ftp://anchor.jjj.example.cn' }, 'anchor.entityId', 'entity-id'],
    [
      'an http entity id in production',
      { entityId: 'http://anchor.jjj.example.cn' },
      'anchor.entityId',
      'entity-id-https',
    ],
    ['a port out of range', { listen: { port: 0 } }, 'anchor.listen.port', 'min'],
    ['a host with a scheme', { listen: { host: 'https://0.0.0.0', port: 1 } }, 'anchor.listen.host', 'host'],
    ['an empty data dir', { dataDir: '' }, 'anchor.dataDir', 'min'],
    ['a misspelt key', { dataDri: '/x' }, 'anchor.dataDri', 'unknown-key'],
  ];
  for (const [name, overrides, path, rule] of cases) {
    it(`refuses ${name}`, () => {
      const err = meshErrorOf(() => loadTrustAnchorConfig(anchor(overrides)));
      expect(err.code).toBe('INVALID_CONFIG');
      expect(err.details).toMatchObject({ service: 'trust-anchor', path, rule });
    });
  }

  it('refuses an unknown mode', () => {
    expect(meshErrorOf(() => loadTrustAnchorConfig(anchor({}, { mode: 'staging' }))).details).toMatchObject({
      path: 'mode',
      rule: 'one-of',
    });
  });
});

describe('node config', () => {
  it('accepts a minimal config with defaults', () => {
    const config = loadNodeConfig(node());
    expect(config.mode).toBe('production');
    expect(config.node.listen).toEqual({ host: '127.0.0.1', port: 7443, httpsPort: 8443 });
    expect(config.node.logLevel).toBe('info');
    expect(config.node.store).toEqual({ kind: 'sqlite', path: 'citymesh.db' });
  });

  it('accepts a PostgreSQL store', () => {
    expect(
      loadNodeConfig(node({ store: { kind: 'postgres', url: 'postgresql://citymesh@127.0.0.1:5432/beijing' } })).node
        .store.kind,
    ).toBe('postgres');
  });

  it('names an unknown key in node.listen and suggests the right one', () => {
    const err = meshErrorOf(() => loadNodeConfig(node({ listen: { prot: 7443, httpsPort: 8443 } })));
    expect(err.details).toMatchObject({ service: 'node', path: 'node.listen.prot', rule: 'unknown-key' });
    expect(err.message).toContain('node.listen: unknown key "prot" (did you mean "port"?)');
    expect(configIssuesOf(err).map(({ path, rule }) => `${path}:${rule}`)).toEqual([
      'node.listen.prot:unknown-key',
      'node.listen.port:required',
    ]);
  });

  it('refuses development defaults in production', () => {
    const err = meshErrorOf(() => loadNodeConfig(node({}, { mode: 'production', allowInsecureDevDefaults: true })));
    expect(err.details).toMatchObject({ path: 'allowInsecureDevDefaults', rule: 'dev-defaults-in-production' });
  });

  it('runs a loopback development node over http', () => {
    const dev = loadNodeConfig(
      node(
        { entityId: 'http://127.0.0.1:8443', anchorUrl: 'http://localhost:9443' },
        { mode: 'development', allowInsecureDevDefaults: true },
      ),
    );
    expect(dev.node.anchorUrl).toBe('http://localhost:9443');
  });

  const cases: [name: string, overrides: Record<string, unknown>, path: string, rule: string][] = [
    ['a bad city', { city: 'Bei Jing' }, 'node.city', 'pattern'],
    ['a city with a trailing hyphen', { city: 'beijing-' }, 'node.city', 'trailing-hyphen'],
    ['a bad node name', { nodeName: 'Node_1' }, 'node.nodeName', 'pattern'],
    ['an http anchor url', { anchorUrl: 'http://anchor.jjj.example.cn' }, 'node.anchorUrl', 'anchor-url-https'],
    ['the same port twice', { listen: { port: 8443, httpsPort: 8443 } }, 'node.listen.httpsPort', 'distinct-ports'],
    ['an unknown store kind', { store: { kind: 'mysql', url: 'mysql://x' } }, 'node.store.kind', 'one-of'],
    ['a sqlite store without a path', { store: { kind: 'sqlite' } }, 'node.store.path', 'required'],
    [
      'a postgres store with a mysql url',
      { store: { kind: 'postgres', url: 'mysql://x' } },
      'node.store.url',
      'postgres-url',
    ],
    [
      'a postgres store with a sqlite key',
      { store: { kind: 'postgres', url: 'postgres://x', path: 'x.db' } },
      'node.store.path',
      'unknown-key',
    ],
    ['an unknown log level', { logLevel: 'verbose' }, 'node.logLevel', 'one-of'],
  ];
  for (const [name, overrides, path, rule] of cases) {
    it(`refuses ${name}`, () => {
      const err = meshErrorOf(() => loadNodeConfig(node(overrides)));
      expect(err.code).toBe('INVALID_CONFIG');
      expect(err.details).toMatchObject({ service: 'node', path, rule });
    });
  }

  it('names a misspelt top-level section', () => {
    const { node: section } = node();
    const err = meshErrorOf(() => loadNodeConfig({ nodes: section }));
    expect(err.message).toContain('(top level): unknown key "nodes" (did you mean "node"?)');
  });
});
