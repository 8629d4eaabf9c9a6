import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { citymesh, freePort, requireBuiltCli } from '../support/cli-process.js';

describe('citymesh simulate (npm start)', () => {
  const work = mkdtempSync(join(tmpdir(), 'citymesh-simulate-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('runs an anchor and two city nodes as processes, exchanges across them and writes the report of the contract', async () => {
    requireBuiltCli();
    const port = await freePort();
    const r = await citymesh(
      ['simulate', '--cities', '2', '--work-dir', 'cluster', '--base-port', String(port), '--report', 'report.json'],
      work,
      // A whole cluster of processes on 2 shared cores in CI: give it room.
      220_000,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8'));
    expect(report).toMatchObject({
      cluster: 'jjj',
      cities: ['beijing', 'tianjin'],
      trust: { beijing: { tianjin: true }, tianjin: { beijing: true } },
      passed: true,
    });
    // Each direction: public datasets fetched and streamed, a capability invoked, the
    // internal and agreement-bound datasets refused.
    for (const [from, to] of [
      ['beijing', 'tianjin'],
      ['tianjin', 'beijing'],
    ] as const) {
      expect(report.interop[from][to].allowed).toBeGreaterThanOrEqual(5);
      expect(report.interop[from][to].denied).toBeGreaterThanOrEqual(3);
    }
    expect(report.metrics.enrol).toMatchObject({ count: 2 });
    expect(report.metrics['exchange.fetch'].count).toBeGreaterThan(0);
    const names = report.checks.map((c: { name: string }) => c.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'trust.matrix',
        'nodes.serving',
        'catalog.search.cluster-wide',
        'exchange.every-pair',
        'revocation.refused-everywhere',
        'offline.serves-on-cached-metadata',
        'audit.chains-verify',
        'audit.both-sides-agree',
      ]),
    );
    expect(report.checks.every((c: { passed: boolean }) => c.passed)).toBe(true);
  }, 240_000);

  it('refuses to empty a folder it did not create', async () => {
    mkdirSync(join(work, 'mine'));
    writeFileSync(join(work, 'mine', 'thesis.txt'), 'precious');
    const r = await citymesh(['simulate', '--work-dir', 'mine'], work);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('was not made by citymesh simulate');
    expect(readFileSync(join(work, 'mine', 'thesis.txt'), 'utf8')).toBe('precious');
  });
});
