import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCENARIO_NAMES } from '../../simulations/scenarios.js';
import { CLI, citymesh, freePort, requireBuiltCli } from '../support/cli-process.js';

/** The live processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('citymesh simulate (npm start)', () => {
  const work = mkdtempSync(join(tmpdir(), 'citymesh-simulate-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('runs every scenario on three cities as separate processes, passes every check and writes the report and its page', async () => {
    requireBuiltCli();
    const port = await freePort();
    const r = await citymesh(
      [
        ...['simulate', '--cities', '3', '--scenario', 'all', '--anchor-down-seconds', '1'],
        ...['--work-dir', 'cluster', '--base-port', String(port), '--report', 'report.json', '--html', 'report.html'],
      ],
      work,
      // A whole cluster of processes on 2 shared cores in CI: give it room.
      400_000,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // Progress is shown while it runs.
    expect(r.stderr).toMatch(/\[exchange\] 6\/6 pairs \(full matrix\)/);
    const report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8'));
    const cities = ['beijing', 'tianjin', 'shijiazhuang'];
    expect(report).toMatchObject({ cluster: 'jjj', cities, passed: true, scenarios: [...SCENARIO_NAMES] });
    for (const from of cities) {
      for (const to of cities.filter((c) => c !== from)) {
        expect(report.trust[from][to], `${from} verifies ${to}`).toBe(true);
        // Each direction: 3 public datasets fetched and streamed, a capability invoked;
        // 2 internal datasets and a capability refused, 3 needing an agreement refused.
        expect(report.interop[from][to]).toEqual({ allowed: 7, denied: 6 });
      }
    }
    expect(report.checks.filter((c: { passed: boolean }) => !c.passed)).toEqual([]);
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining([
        'trust.matrix',
        'nodes.serving',
        'catalog.search.cluster-wide',
        'catalog.industries',
        'exchange.every-pair',
        'policy.denials',
        'offline.serves-on-cached-metadata',
        'anchor.converged',
        'kill-node.stream-ends-cleanly',
        'kill-node.restarted',
        'kill-node.audit-verifies',
        'partition.calls-fail-fast',
        'partition.heals',
        'rollover.next-key-pinned',
        'rollover.activated',
        'revocation.refused-everywhere',
        'audit.chains-verify',
        'audit.both-sides-agree',
      ]),
    );
    expect(report.metrics.enrol).toMatchObject({ count: 3 });
    expect(report.metrics['exchange.fetch'].count).toBe(18);
    expect(report.metrics['node.rss.max.mb']).toBeGreaterThan(20);
    // The revocation of the last city reached both other nodes, each measured.
    expect(report.revoked).toBe('shijiazhuang');
    expect(Object.keys(report.revocationReach).sort()).toEqual(['beijing', 'tianjin']);
    expect(report.metrics['revocation.reach'].count).toBe(2);
    expect(report.phases.map((p: { name: string }) => p.name)).toEqual([...SCENARIO_NAMES]);

    const html = readFileSync(join(work, 'report.html'), 'utf8');
    expect(html).toContain('PASSED</span>');
    expect(html).toContain('<title>shijiazhuang verified beijing</title>');
    expect(html).toContain('exchange.stream latency');
    expect(html).toContain('Revocation of shijiazhuang');
  }, 420_000);

  it('takes its anchor and nodes along when it is stopped with SIGTERM', async () => {
    requireBuiltCli();
    const port = await freePort();
    const run = spawn(
      process.execPath,
      [
        CLI,
        'simulate',
        '--cities',
        '2',
        '--scenario',
        'enrol,publish',
        '--work-dir',
        'stopped',
        '--base-port',
        String(port),
      ],
      { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => run.once('exit', (code) => resolve(code)));
    let err = '';
    run.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    // Once the nodes are starting, the anchor and at least one node are its children.
    const deadline = Date.now() + 120_000;
    let children: number[] = [];
    while (children.length < 2) {
      if (Date.now() > deadline) throw new Error(`no anchor and node started: ${err.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
      if (/\[serve\]/.test(err)) children = childrenOf(run.pid as number);
    }
    try {
      run.kill('SIGTERM');
      expect(await exited).toBe(143);
      expect(err).toContain('SIGTERM: stopping the anchor and nodes');
      expect(children.filter(alive)).toEqual([]);
    } finally {
      for (const pid of children.filter(alive)) process.kill(pid, 'SIGKILL');
    }
  }, 150_000);

  it('refuses a bad option with a usage error naming it, before starting anything', async () => {
    const r = await citymesh(['simulate', '--cluster', 'jjj', '--cities', '40', '--work-dir', 'never'], work);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--cities must be a whole number from 2 to 13 for cluster jjj (got "40")');
    const s = await citymesh(['simulate', '--scenario', 'enrol,partiton', '--work-dir', 'never'], work);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('"partiton" is not a scenario (did you mean "partition"?)');
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
