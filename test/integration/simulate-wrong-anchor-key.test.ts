import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { citymesh, freePort, requireBuiltCli } from '../support/cli-process.js';

/*
 * The wrong-anchor-key drill: after enrolment Tianjin pins a key the anchor never had.
 * The trust matrix, the failed check and the exit code must all say so. Enrolment only,
 * so it stays cheap.
 */
describe('citymesh simulate --fault wrong-anchor-key', () => {
  const work = mkdtempSync(join(tmpdir(), 'citymesh-simulate-wrong-key-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('shows the city that pins the wrong anchor key in the trust matrix, fails trust.matrix and exits 1', async () => {
    requireBuiltCli();
    const port = await freePort();
    const r = await citymesh(
      [
        ...['simulate', '--scenario', 'enrol', '--fault', 'wrong-anchor-key=tianjin'],
        ...['--work-dir', 'cluster', '--base-port', String(port), '--report', 'report.json'],
      ],
      work,
      120_000,
    );
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAIL {2}trust\.matrix +tianjin verified none of the 2 others/);
    const report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8'));
    expect(report).toMatchObject({ passed: false, scenarios: ['enrol'], faults: ['wrong-anchor-key=tianjin'] });
    // Tianjin verifies no one, and says why; the others still verify Tianjin and each other.
    expect(report.trust.tianjin).toEqual({ beijing: false, shijiazhuang: false });
    expect(report.trust.beijing).toEqual({ tianjin: true, shijiazhuang: true });
    expect(report.trust.shijiazhuang).toEqual({ beijing: true, tianjin: true });
    for (const reason of Object.values(report.trustFailures.tianjin) as string[]) {
      expect(reason).toMatch(/^tianjin cannot verify the anchor's metadata: /);
    }
    expect(Object.keys(report.trustFailures)).toEqual(['tianjin']);
    const failed = report.checks.filter((c: { passed: boolean }) => !c.passed);
    expect(failed.map((c: { name: string }) => c.name)).toEqual(['trust.matrix']);
    expect(failed[0].detail).toContain('tianjin verified none of the 2 others');
    // Enrolment itself went through: the drill breaks the key afterwards.
    expect(report.checks.filter((c: { name: string }) => c.name.startsWith('enrol.')).length).toBe(3);
  }, 130_000);
});
