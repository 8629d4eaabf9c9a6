import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppClients, unaryCall } from '../../../nodes/index.js';
import type { FetchRecordsResponse } from '../../../proto/gen/citymesh/v1/dataset_service.js';
import { cli } from '../../support/cli-in-process.js';
import { outcomeOf, startTestCluster, type TestCluster, testEntry } from './cluster-fixture.js';

/**
 * A data office changes Beijing's policy with the CLI while its node runs: the new version
 * reaches the node without a restart, a refused set changes nothing, and an auditor can
 * read the history and ask who can do what.
 */

const ROADS = 'jjj/beijing/transport-bureau/road-works';
const GRANT =
  'p, tianjin-roads, allow, read, *, tianjin, *, *, *, *, *, *, *, jjj/beijing/transport-bureau/*, <=internal, *, *';

let cluster: TestCluster;
let planner: AppClients;
let dir: string;

beforeAll(async () => {
  cluster = await startTestCluster(['beijing', 'tianjin']);
  dir = cluster.cities.beijing!.dir;
  const stores = cluster.cities.beijing!.node.context.stores;
  await stores.catalog.put(testEntry('beijing', 'road-works', { classification: 'internal' }));
  await stores.records.appendBatch(ROADS, [{ json: '{"road":"G6"}' }], new Date());
  planner = await cluster.app('tianjin', 'route-planner');
}, 60_000);

afterAll(() => cluster?.stop());

const fetchRoads = () =>
  unaryCall<FetchRecordsResponse>((cb) =>
    planner.datasets.fetchRecords(
      { datasetId: ROADS, purpose: 'traffic-planning', afterSequence: 0, agreementId: '', pageSize: 0, pageToken: '' },
      cb,
    ),
  );

async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('the node did not follow the policy change');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const policyVersion = () => cluster.cities.beijing!.node.context.policy.version;

describe('policy administration on a running node', () => {
  it('exports the set in force, loads an edited one, and the running node follows it without restart', async () => {
    expect(await outcomeOf(fetchRoads())).toBe('POLICY_DENIED');
    const before = policyVersion();
    const exported = await cli('policy', 'export', '--dir', dir);
    expect(exported.code, exported.err).toBe(0);
    appendFileSync(join(dir, 'policy', 'grants.csv'), `${GRANT}\n`);
    const loaded = await cli(
      'policy',
      'load',
      '--dir',
      dir,
      '--comment',
      'tianjin reads road works',
      '--by',
      'bj-office',
    );
    expect(loaded.code, loaded.err).toBe(0);
    expect(loaded.out).toContain('Tianjin subjects gained read');
    await eventually(async () => (await outcomeOf(fetchRoads())) === 'OK');
    expect(policyVersion()).not.toBe(before);
  });

  it('refuses a broken set with its file and line, and the version in force stays', async () => {
    const inForce = policyVersion();
    const grants = join(dir, 'policy', 'grants.csv');
    const good = readFileSync(grants, 'utf8');
    const lines = good.split('\n').length;
    appendFileSync(grants, 'p, broken, allow, read, *, tianjin, helth, *, *, *, *, *, *, *, public, *, *\n');
    const refused = await cli('policy', 'load', '--dir', dir);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`grants.csv:${lines}`);
    expect(refused.err).toMatch(/health/);
    await cluster.cities.beijing!.node.refreshPolicy();
    expect(policyVersion()).toBe(inForce);
    expect(await outcomeOf(fetchRoads())).toBe('OK');
    writeFileSync(grants, good);
  });

  it('keeps the history: versions, changes since a time, and a diff in words', async () => {
    const versions = JSON.parse((await cli('policy', 'versions', '--dir', dir)).out) as {
      items: { version: string; active: boolean; createdBy: string }[];
    };
    expect(versions.items).toHaveLength(2);
    expect(versions.items[0]).toMatchObject({ version: policyVersion(), active: true, createdBy: 'bj-office' });
    const changes = JSON.parse((await cli('policy', 'changes', '--dir', dir, '--since', '2000-01-01T00:00:00Z')).out)
      .items as { version: string; previousVersion?: string; rulesAdded: number }[];
    expect(changes.map((c) => c.version)).toEqual([versions.items[1]!.version, policyVersion()]);
    expect(changes[1]).toMatchObject({ previousVersion: versions.items[1]!.version, rulesAdded: 1 });
    const diff = await cli('policy', 'diff', '--dir', dir, versions.items[1]!.version);
    expect(diff.out).toMatch(
      /Tianjin subjects gained read on .*jjj\/beijing\/transport-bureau\/\*.*rule tianjin-roads, grants.csv:\d+ added/,
    );
  });

  it('answers who can, what can and explain for an auditor', async () => {
    const who = JSON.parse((await cli('policy', 'who-can', '--dir', dir, ROADS, 'read')).out) as {
      allowed: { rule: string; cities: { kind: string; values?: string[] } }[];
    };
    expect(who.allowed.find((s) => s.rule === 'tianjin-roads')?.cities).toEqual({ kind: 'only', values: ['tianjin'] });
    expect(who.allowed.map((s) => s.rule)).not.toContain('public-open');

    const subject = ['--city', 'tianjin', '--industry', 'transport', '--region', '120101'];
    const what = JSON.parse((await cli('policy', 'what-can', '--dir', dir, ...subject)).out) as {
      allowed: { rule: string }[];
    };
    expect(what.allowed.map((s) => s.rule)).toEqual(expect.arrayContaining(['tianjin-roads', 'public-open']));

    const args = ['policy', 'explain', '--dir', dir, '--resource', ROADS, '--action', 'read', ...subject];
    const allowed = JSON.parse((await cli(...args, '--purpose', 'traffic-planning')).out);
    expect(allowed.decision).toMatchObject({ allowed: true, rule: 'tianjin-roads' });
    expect(allowed.decidedBy.at).toMatch(/^grants\.csv:\d+$/);
    const other = JSON.parse((await cli(...args.map((a) => (a === 'tianjin' ? 'tangshan' : a)), '--purpose', 'x')).out);
    expect(other.decision).toMatchObject({ allowed: false, rule: 'default-deny', code: 'POLICY_DENIED' });
    const evaluated = other.evaluated as { rule: string; matched: boolean; failed: { column: string }[] }[];
    expect(evaluated.find((e) => e.rule === 'public-open')?.failed.map((f) => f.column)).toEqual(['class']);
    expect(evaluated.every((e) => !e.matched)).toBe(true);
  });

  it('adds a grant from the command line, and refuses one a sample contradicts, leaving the file as it was', async () => {
    const added = await cli(
      ...['grants', 'add', '--dir', dir, '--city', 'tangshan', '--resource', ROADS],
      ...['--action', 'read', '--max-classification', 'internal', '--by', 'bj-office'],
    );
    expect(added.code, added.err).toBe(0);
    expect(added.out).toContain('added grant grant-tangshan-1');
    const listed = JSON.parse((await cli('grants', 'list', '--dir', dir)).out) as { grants: { id: string }[] };
    expect(listed.grants.map((g) => g.id)).toEqual(expect.arrayContaining(['tianjin-roads', 'grant-tangshan-1']));

    const grants = join(dir, 'policy', 'grants.csv');
    const before = readFileSync(grants, 'utf8');
    const contradicted = await cli(
      ...['grants', 'add', '--dir', dir, '--city', 'chengde', '--resource', 'jjj/beijing/planning-bureau/*'],
      ...['--action', 'read', '--max-classification', 'internal'],
    );
    expect(contradicted.code).toBe(1);
    expect(contradicted.err).toContain("another city's internal data needs a grant");
    expect(readFileSync(grants, 'utf8')).toBe(before);
  });
});
