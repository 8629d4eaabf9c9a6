import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { citymesh, freePort, requireBuiltCli } from '../support/cli-process.js';

describe('citymesh simulate (npm start)', () => {
  const work = mkdtempSync(join(tmpdir(), 'citymesh-simulate-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('runs an anchor and two cities as processes and writes the report of the contract', async () => {
    requireBuiltCli();
    const port = await freePort();
    const r = await citymesh(
      ['simulate', '--cities', '2', '--work-dir', 'cluster', '--base-port', String(port), '--report', 'report.json'],
      work,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8'));
    expect(report).toMatchObject({
      cluster: 'jjj',
      cities: ['beijing', 'tianjin'],
      trust: { beijing: { tianjin: true }, tianjin: { beijing: true } },
      passed: true,
    });
    expect(report).toHaveProperty('interop');
    expect(report.metrics.enrol).toMatchObject({ count: 2 });
    const names = report.checks.map((c: { name: string }) => c.name);
    expect(names).toEqual(
      expect.arrayContaining(['trust.matrix', 'revocation.refused-everywhere', 'offline.serves-on-cached-metadata']),
    );
    expect(report.checks.every((c: { passed: boolean }) => c.passed)).toBe(true);
  });

  it('refuses to empty a folder it did not create', async () => {
    mkdirSync(join(work, 'mine'));
    writeFileSync(join(work, 'mine', 'thesis.txt'), 'precious');
    const r = await citymesh(['simulate', '--work-dir', 'mine'], work);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('was not made by citymesh simulate');
    expect(readFileSync(join(work, 'mine', 'thesis.txt'), 'utf8')).toBe('precious');
  });
});
