import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type BenchSuite, benchResult } from '../../bench/result.js';
import { type BenchReport, runBench } from '../../bench/runner.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFile(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'citymesh-bench-test-'));
  dirs.push(dir);
  return join(dir, 'nested', name);
}

function fixedSuite(name: string, results: { name: string; value: number; baselineValue: number }[]): BenchSuite {
  return {
    name,
    run: async () =>
      results.map((r) =>
        benchResult({
          ...r,
          unit: '1/s',
          baseline: `${r.name}.baseline`,
          goal: { on: 'ratio', op: '>=', target: 0.33 },
        }),
      ),
  };
}

const crashing: BenchSuite = {
  name: 'broken.suite',
  run: async () => {
    throw new Error('the fixture exploded');
  },
};

async function run(args: string[], suites: readonly BenchSuite[]) {
  let stdout = '';
  let stderr = '';
  const code = await runBench(args, {
    suites,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

const readReport = (file: string): BenchReport => JSON.parse(readFileSync(file, 'utf8')) as BenchReport;

describe('bench runner', () => {
  const suites = [
    fixedSuite('alpha', [
      { name: 'alpha.rate', value: 300, baselineValue: 1200 },
      { name: 'alpha.p99', value: 50, baselineValue: 10 },
    ]),
    fixedSuite('beta', [{ name: 'beta.rate', value: 10, baselineValue: 20 }]),
  ];

  it('writes the contract JSON with ratio = value / baselineValue and run facts', async () => {
    const file = tempFile('out.json');
    const { code, stdout } = await run(['--json', file], suites);
    expect(code).toBe(0);
    const report = readReport(file);
    expect(report.results.map((r) => r.name)).toEqual(['alpha.rate', 'alpha.p99', 'beta.rate']);
    for (const r of report.results) {
      expect(Object.keys(r)).toEqual(expect.arrayContaining(['name', 'value', 'unit', 'baseline', 'baselineValue']));
      expect(r.ratio).toBe(r.value / r.baselineValue);
    }
    expect(report.results[0]).toMatchObject({ ratio: 0.25, goal: 'ratio >= 0.33', goalMet: false });
    expect(report.node).toBe(process.version);
    expect(report.cpus).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(report.startedAt))).toBe(false);
    expect(report.loadAverage.start).toHaveLength(3);
    expect(report.quick).toBeUndefined();
    // A missed goal is reported, not failed; the table carries it.
    expect(stdout).toMatch(/alpha\.rate\s+300 1\/s\s+alpha\.rate\.baseline\s+1,200 1\/s\s+0\.25\s+ratio >= 0\.33\s+NO/);
  });

  it('marks a --quick run in the JSON', async () => {
    const file = tempFile('quick.json');
    expect((await run(['--quick', '--json', file], suites)).code).toBe(0);
    expect(readReport(file).quick).toBe(true);
  });

  it('--only runs suites by prefix, or single results of a suite', async () => {
    const file = tempFile('only.json');
    expect((await run(['--only', 'be', '--json', file], suites)).code).toBe(0);
    expect(readReport(file).results.map((r) => r.name)).toEqual(['beta.rate']);
    expect((await run(['--only', 'alpha.p99,beta', '--json', file], suites)).code).toBe(0);
    expect(readReport(file).results.map((r) => r.name)).toEqual(['alpha.p99', 'beta.rate']);
    const none = await run(['--only', 'gamma'], suites);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('alpha, beta');
  });

  it('exits 1 naming a crashed suite, and still reports the others', async () => {
    const file = tempFile('crash.json');
    const { code, stderr } = await run(['--json', file], [suites[0]!, crashing, suites[1]!]);
    expect(code).toBe(1);
    expect(stderr).toContain('suite broken.suite crashed');
    expect(stderr).toContain('the fixture exploded');
    const report = readReport(file);
    expect(report.failed).toEqual([{ suite: 'broken.suite', error: 'the fixture exploded' }]);
    expect(report.results.map((r) => r.name)).toEqual(['alpha.rate', 'alpha.p99', 'beta.rate']);
  });

  it('treats a result that breaks the contract as a crash of its suite', async () => {
    const lying: BenchSuite = {
      name: 'lying',
      run: async () => [{ name: 'lying.rate', value: 1, unit: '1/s', baseline: 'x', baselineValue: 2, ratio: 2 }],
    };
    const zero = fixedSuite('zero', [{ name: 'zero.rate', value: 1, baselineValue: 0 }]);
    const { code, stderr } = await run([], [lying, zero]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/lying crashed: .*ratio 2 is not value \/ baselineValue/);
    expect(stderr).toMatch(/zero crashed: .*ratio must be a finite number/);
  });

  it('--list prints the suites and runs nothing', async () => {
    const { code, stdout } = await run(['--list'], [...suites, crashing]);
    expect(code).toBe(0);
    expect(stdout).toBe('alpha\nbeta\nbroken.suite\n');
  });

  it('refuses an unknown flag with exit 2', async () => {
    expect((await run(['--jsn', 'x'], suites)).code).toBe(2);
  });
});
