import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticDevices, writeSyntheticManifest } from '../../nodes/devices/index.js';
import { type NodeIdentity, nodePath } from '../../nodes/index.js';
import { openSqliteStores } from '../../stores/index.js';
import { CLI, citymesh } from '../support/cli-process.js';

/*
 * kill -9 `citymesh devices import` twice in the middle of a 200k-line manifest, run the
 * same command a third time, and check that the totals it reports and the devices in the
 * store are exactly those of the manifest.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'citymesh-devices-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DEVICES = 196_000;
const BATCH = '2000';
const invalidAfter = (i: number) => i % 997 === 996;
const repeatedAfter = (i: number) => i % 4999 === 4998;
const manifest = join(dir, 'devices.ndjson');
const rejects = join(dir, 'rejects.ndjson');
let totalLines = 0;
const badLines: number[] = [];

/** The child runs compiled code: compile when dist is older than a source it needs (tsc still emits past others' type errors). */
function ensureCompiled(): void {
  const sources = (d: string): string[] =>
    readdirSync(join(root, d), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : [],
    );
  const stale = ['nodes/devices', 'cli', 'stores'].flatMap(sources).some((src) => {
    const out = join(root, 'dist', src.replace(/\.ts$/, '.js'));
    return !existsSync(out) || statSync(out).mtimeMs < statSync(join(root, src)).mtimeMs;
  });
  if (stale) spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'ignore' });
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing after tsc`);
}

function linesDone(): number {
  const db = new Database(nodePath(dir, 'store'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT lines_done AS n FROM device_import_checkpoints').get() as { n: number } | undefined;
    return row?.n ?? 0;
  } finally {
    db.close();
  }
}

/** Starts the import and SIGKILLs it once the checkpoint has passed `atLeast` lines. */
async function killMidImport(atLeast: number): Promise<{ signal: string | null; at: number }> {
  const args = [CLI, 'devices', 'import', manifest, '--dir', dir, '--batch', BATCH, '--rejects', rejects];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: dir, stdio: 'ignore' });
  const exited = new Promise<string | null>((done) => child.once('exit', (_code, signal) => done(signal)));
  let at = 0;
  while (child.exitCode === null && child.signalCode === null) {
    at = linesDone();
    if (at > atLeast) {
      child.kill('SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { signal: await exited, at };
}

beforeAll(async () => {
  ensureCompiled();
  const identity: NodeIdentity = {
    cluster: 'jjj',
    city: 'tianjin',
    nodeName: 'n1',
    spiffeId: 'spiffe://tianjin.jjj.citymesh/node/n1',
    entityId: 'https://localhost:8443',
    grpcEndpoint: 'localhost:7443',
    anchorUrl: 'https://localhost:7000',
    anchorEntityId: 'https://localhost:7000',
    joinedAt: new Date(0).toISOString(),
  };
  writeFileSync(nodePath(dir, 'identity'), JSON.stringify(identity));
  await openSqliteStores(nodePath(dir, 'store')).close();
  const describeDevice = syntheticDevices({ city: 'tianjin', devices: DEVICES });
  let line = 0;
  totalLines = writeSyntheticManifest(manifest, { city: 'tianjin', devices: DEVICES }, (i) => {
    line++;
    const extra: string[] = [];
    if (invalidAfter(i)) {
      extra.push(JSON.stringify({ ...describeDevice(i), deviceId: `bad-${i}`, regionCode: '110105' }));
      badLines.push(line + extra.length);
    }
    if (repeatedAfter(i)) extra.push(JSON.stringify(describeDevice(i)));
    line += extra.length;
    return extra;
  });
}, 120_000);

describe('citymesh devices import, killed with SIGKILL and run again', () => {
  it('resumes where the last commit left it, with exact totals and exactly the valid devices stored', async () => {
    const first = await killMidImport(0);
    expect(first.signal).toBe('SIGKILL');
    const second = await killMidImport(first.at + 3 * Number(BATCH));
    expect(second.signal).toBe('SIGKILL');
    expect(second.at).toBeLessThan(totalLines);

    const done = await citymesh(
      ['devices', 'import', manifest, '--dir', dir, '--batch', BATCH, '--rejects', rejects],
      dir,
      170_000,
    );
    expect(done.code, done.stderr).toBe(0);
    const report = JSON.parse(done.stdout) as Record<string, number>;
    const repeated = Array.from({ length: DEVICES }, (_, i) => i).filter(repeatedAfter).length;
    expect(report.resumedFromLine).toBeGreaterThanOrEqual(second.at);
    expect(report).toMatchObject({
      totalLines,
      linesDone: totalLines,
      inserted: DEVICES,
      unchanged: repeated,
      rejected: badLines.length,
    });

    const db = new Database(nodePath(dir, 'store'), { readonly: true });
    try {
      const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
      expect(count("SELECT count(*) AS n FROM devices WHERE device_id LIKE 'dev-%'")).toBe(DEVICES);
      expect(count('SELECT count(*) AS n FROM devices')).toBe(DEVICES);
    } finally {
      db.close();
    }
    // Each rejected line once, in order; the batch committed just before a kill may lack its entries.
    const listed = readFileSync(rejects, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { line: number }).line);
    expect(listed).toEqual([...new Set(listed)].sort((a, b) => a - b));
    expect(listed.every((l) => badLines.includes(l))).toBe(true);
    expect(listed.filter((l) => l > (report.resumedFromLine ?? 0))).toEqual(
      badLines.filter((l) => l > (report.resumedFromLine ?? 0)),
    );
  }, 240_000);
});
