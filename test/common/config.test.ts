import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  configIssuesOf,
  crossFieldChecks,
  didYouMean,
  editDistance,
  formatConfigPath,
  loadConfig,
} from '../../common/config/index.js';
import { MeshError } from '../../common/errors/mesh-error.js';

function meshErrorOf(fn: () => unknown): MeshError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    return err as MeshError;
  }
  throw new Error('expected a MeshError, nothing was thrown');
}

const schema = z
  .object({
    node: z
      .object({
        listen: z.object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(1).max(65535) }).strict(),
        dataDir: z.string().min(1),
        store: z.discriminatedUnion('kind', [
          z.object({ kind: z.literal('sqlite'), path: z.string() }).strict(),
          z.object({ kind: z.literal('postgres'), url: z.string() }).strict(),
        ]),
        tags: z.array(z.object({ name: z.string() }).strict()).default([]),
      })
      .strict(),
    replicas: z.number().int().default(1),
    maxReplicas: z.number().int().default(3),
  })
  .strict()
  .superRefine(
    crossFieldChecks([
      {
        rule: 'replicas-within-max',
        check: (config: { replicas: number; maxReplicas: number }) =>
          config.replicas > config.maxReplicas
            ? [{ path: ['replicas'], message: `must not exceed maxReplicas (${config.maxReplicas})` }]
            : [],
      },
    ]),
  );

const valid = () => ({
  node: { listen: { port: 7000 }, dataDir: '/var/lib/x', store: { kind: 'sqlite', path: 'x.db' } },
});

const dir = mkdtempSync(join(tmpdir(), 'citymesh-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('loadConfig', () => {
  it('returns the parsed config with defaults, deeply frozen', () => {
    const config = loadConfig(schema, valid(), { service: 'test' });
    expect(config).toEqual({
      ...valid(),
      node: { ...valid().node, listen: { host: '127.0.0.1', port: 7000 }, tags: [] },
      replicas: 1,
      maxReplicas: 3,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.node.listen)).toBe(true);
    expect(Object.isFrozen(config.node.tags)).toBe(true);
    expect(() => {
      (config.node.listen as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('names an unknown key, its path, and the key it probably meant', () => {
    const input = valid();
    Object.assign(input.node.listen, { prot: 7001 });
    const err = meshErrorOf(() => loadConfig(schema, input, { service: 'node' }));
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.details).toMatchObject({ service: 'node', path: 'node.listen.prot', rule: 'unknown-key', issues: 1 });
    expect(err.message).toContain('node.listen: unknown key "prot" (did you mean "port"?)');
  });

  it('suggests keys of the union branch the input chose', () => {
    const input = valid();
    input.node.store = { kind: 'postgres', ulr: 'postgres://x' } as never;
    const issues = configIssuesOf(meshErrorOf(() => loadConfig(schema, input, { service: 'node' })));
    expect(issues).toContainEqual({
      path: 'node.store.ulr',
      rule: 'unknown-key',
      message: 'node.store: unknown key "ulr" (did you mean "url"?)',
    });
  });

  it('suggests keys inside array elements and at the top level', () => {
    const input = { ...valid(), replica: 2 };
    Object.assign(input.node, { tags: [{ nmae: 'a' }] });
    const issues = configIssuesOf(meshErrorOf(() => loadConfig(schema, input, { service: 'node' })));
    expect(issues.map((issue) => issue.message)).toEqual(
      expect.arrayContaining([
        'node.tags[0]: unknown key "nmae" (did you mean "name"?)',
        '(top level): unknown key "replica" (did you mean "replicas"?)',
      ]),
    );
  });

  it('makes no suggestion when nothing is close', () => {
    const input = { ...valid(), telemetryEndpoint: 'x' };
    const err = meshErrorOf(() => loadConfig(schema, input, { service: 'node' }));
    expect(err.message).toContain('(top level): unknown key "telemetryEndpoint" [unknown-key]');
  });

  it('lists every issue with its path and rule; details carry the first', () => {
    const err = meshErrorOf(() =>
      loadConfig(
        schema,
        { node: { listen: { port: 70000 }, dataDir: '', store: { kind: 'mysql' } }, replicas: 'two' },
        { service: 'node' },
      ),
    );
    const issues = configIssuesOf(err);
    expect(issues.map(({ path, rule }) => ({ path, rule }))).toEqual([
      { path: 'node.listen.port', rule: 'max' },
      { path: 'node.dataDir', rule: 'min' },
      { path: 'node.store.kind', rule: 'one-of' },
      { path: 'replicas', rule: 'type' },
    ]);
    expect(err.details).toMatchObject({ path: 'node.listen.port', rule: 'max', issues: 4 });
    expect(err.message).toContain('node config is invalid (4 issues):');
    expect(err.message).toContain('node.listen.port: must be at most 65535 [max]');
    expect(err.message).toContain('node.store.kind: must be one of "sqlite", "postgres" [one-of]');
    expect(err.message).toContain('replicas: must be a number, got string [type]');
  });

  it('calls a missing field required', () => {
    const err = meshErrorOf(() =>
      loadConfig(schema, { node: { listen: {}, store: { kind: 'sqlite', path: 'x' } } }, { service: 'node' }),
    );
    expect(configIssuesOf(err).map(({ path, rule }) => `${path}:${rule}`)).toEqual([
      'node.listen.port:required',
      'node.dataDir:required',
    ]);
  });

  it('runs named cross-field checks once the fields are valid', () => {
    const err = meshErrorOf(() => loadConfig(schema, { ...valid(), replicas: 5 }, { service: 'node' }));
    expect(err.details).toMatchObject({ path: 'replicas', rule: 'replicas-within-max' });
    expect(err.message).toContain('replicas: must not exceed maxReplicas (3) [replicas-within-max]');
  });

  describe('reading files', () => {
    it('reads YAML by extension', () => {
      const path = file(
        'node.yaml',
        'node:\n  listen: { port: 7000 }\n  dataDir: /var/lib/x\n  store: { kind: sqlite, path: x.db }\n',
      );
      expect(loadConfig(schema, path, { service: 'node' }).node.listen.port).toBe(7000);
      expect(
        loadConfig(schema, file('node.yml', 'node: {listen: {port: 1}, dataDir: d, store: {kind: sqlite, path: p}}'), {
          service: 'node',
        }).node.dataDir,
      ).toBe('d');
    });

    it('reads JSON by extension', () => {
      expect(loadConfig(schema, file('node.json', JSON.stringify(valid())), { service: 'node' }).node.store).toEqual({
        kind: 'sqlite',
        path: 'x.db',
      });
    });

    it('names the file in schema errors', () => {
      const path = file(
        'bad.yaml',
        'node:\n  listen: { port: 7000, prot: 1 }\n  dataDir: d\n  store: { kind: sqlite, path: p }\n',
      );
      const err = meshErrorOf(() => loadConfig(schema, path, { service: 'node' }));
      expect(err.details).toMatchObject({ source: path, path: 'node.listen.prot', rule: 'unknown-key' });
      expect(err.message).toContain(path);
    });

    it('refuses an empty YAML file as a whole', () => {
      const err = meshErrorOf(() => loadConfig(schema, file('empty.yaml', ''), { service: 'node' }));
      expect(err.details).toMatchObject({ path: '', rule: 'type' });
      expect(err.message).toContain('(top level): must be an object, got null [type]');
    });

    it('keeps YAML 1.2 scalars: "no" stays a string', () => {
      const path = file(
        'scalars.yaml',
        'node:\n  listen: { port: 7000 }\n  dataDir: no\n  store: { kind: sqlite, path: p }\n',
      );
      expect(loadConfig(schema, path, { service: 'node' }).node.dataDir).toBe('no');
    });

    const cases: [name: string, path: () => string, rule: string][] = [
      ['an unsupported extension', () => file('node.toml', 'x = 1'), 'file-extension'],
      ['a missing file', () => join(dir, 'missing.yaml'), 'file-read'],
      ['YAML that does not parse', () => file('broken.yaml', 'node: [unclosed'), 'file-syntax'],
      ['YAML with a duplicate key', () => file('dup.yaml', 'replicas: 1\nreplicas: 2\n'), 'file-syntax'],
      ['JSON that does not parse', () => file('broken.json', '{"node": '), 'file-syntax'],
    ];
    for (const [name, path, rule] of cases) {
      it(`refuses ${name}`, () => {
        const err = meshErrorOf(() => loadConfig(schema, path(), { service: 'node' }));
        expect(err.code).toBe('INVALID_CONFIG');
        expect(err.details).toMatchObject({ service: 'node', rule });
      });
    }
  });
});

describe('config helpers', () => {
  it('formats paths with dots, indices and quoted odd keys', () => {
    expect(formatConfigPath(['node', 'listen', 'port'])).toBe('node.listen.port');
    expect(formatConfigPath(['peers', 2, 'url'])).toBe('peers[2].url');
    expect(formatConfigPath(['labels', 'a.b'])).toBe('labels["a.b"]');
    expect(formatConfigPath([])).toBe('');
  });

  it('counts a transposition as one edit', () => {
    expect(editDistance('prot', 'port')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests the nearest key, ignoring case and separators', () => {
    expect(didYouMean('data_dir', ['dataDir', 'store'])).toBe('dataDir');
    expect(didYouMean('lisen', ['listen', 'logLevel'])).toBe('listen');
    expect(didYouMean('xyz', ['listen', 'store'])).toBeUndefined();
  });
});
