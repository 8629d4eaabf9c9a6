import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderErrorsMarkdown } from '../../common/errors/index.js';
import { cli } from '../support/cli-in-process.js';

const dir = mkdtempSync(join(tmpdir(), 'citymesh-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('citymesh CLI', () => {
  it('lists its command groups in --help', async () => {
    const r = await cli('--help');
    expect(r.code).toBe(0);
    for (const group of ['config', 'errors', 'ids', 'regions', 'store'])
      expect(r.out).toMatch(new RegExp(`^  ${group}\\b`, 'm'));
  });

  it('has --help on every subcommand', async () => {
    for (const args of [
      ['config', 'check'],
      ['ids', 'parse'],
      ['regions', 'describe'],
      ['store', 'init'],
    ]) {
      const r = await cli(...args, '--help');
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.out).toContain(`Usage: citymesh ${args.join(' ')}`);
    }
  });

  it('suggests the right command for a typo and exits 2', async () => {
    const r = await cli('config', 'chek');
    expect(r.code).toBe(2);
    expect(r.err).toContain('Did you mean check?');
  });

  it('parses a SPIFFE ID into its parts', async () => {
    const r = await cli('ids', 'parse', 'spiffe://tianjin.jjj.citymesh/app/bus-planner');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      identifier: 'spiffe',
      city: 'tianjin',
      cluster: 'jjj',
      kind: 'app',
      name: 'bus-planner',
    });
  });

  it('names the field and the rule of a bad identifier, with its code, and exits 1', async () => {
    const r = await cli('ids', 'parse', 'jjj/Beijing/transport/bus-stops');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/city "Beijing" must match .* \[INVALID_IDENTIFIER\]/);
  });

  it('describes a street code with its ancestors', async () => {
    const r = await cli('regions', 'describe', '120101001');
    expect(JSON.parse(r.out)).toMatchObject({
      level: 'street',
      ancestors: [{ code: '120101', level: 'district' }, { code: '120000' }, { code: '000000', level: 'national' }],
    });
  });

  it('refuses a config file with an unknown key, naming it', async () => {
    const file = join(dir, 'node.yaml');
    writeFileSync(
      file,
      [
        'node:',
        '  cluster: jjj',
        '  city: beijing',
        '  nodeName: n1',
        '  entityId: https://beijing.example.cn',
        '  anchorUrl: https://anchor.example.cn',
        '  dataDir: /var/lib/citymesh',
        '  store: { kind: sqlite, path: /var/lib/citymesh/node.db }',
        '  listen: { host: 127.0.0.1, port: 7443, httpsPort: 8443, prot: 1 }',
      ].join('\n'),
    );
    const r = await cli('config', 'check', file, '--service', 'node');
    expect(r.code).toBe(1);
    expect(r.err).toContain('node.listen: unknown key "prot" (did you mean "port"?)');
    expect(r.err).toContain('(1 issue)');
    expect(r.err).toContain('[INVALID_CONFIG]');
  });

  it('refuses an unknown --service', async () => {
    const r = await cli('config', 'check', 'x.yaml', '--service', 'gateway');
    expect(r.code).toBe(2);
    expect(r.err).toContain('Allowed choices are anchor, node');
  });

  it('creates a store and reports its status', async () => {
    const file = join(dir, 'node.db');
    expect((await cli('store', 'init', file)).code).toBe(0);
    const r = await cli('store', 'status', file);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ file, keys: [] });
  });

  it('prints the errors table that docs/errors.md carries', async () => {
    const r = await cli('errors', '--markdown');
    expect(r.out.trim()).toBe(renderErrorsMarkdown());
  });
});

describe('citymesh CLI nested commands', () => {
  it('reports a usage error two levels down through the same output, with exit 2', async () => {
    const r = await cli('anchor', 'init', '--dir', 'x');
    expect(r.code).toBe(2);
    expect(r.err).toContain("required option '--cluster <name>' not specified");
    expect(r.err).toContain('(run with --help for usage)');
  });

  it('suggests a mistyped nested command', async () => {
    const r = await cli('anchor', 'invit');
    expect(r.code).toBe(2);
    expect(r.err).toContain('Did you mean one of init, invite?');
  });
});
