import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditVerifyReport, collectAuditExport, verifyAuditExport } from '../../../nodes/audit/index.js';
import { openSqliteStores } from '../../../stores/index.js';
import { publishedJwk } from '../../../trust-anchor/index.js';
import { BEIJING } from './support.js';

/*
 * kill -9 a node while it appends audit events with group commit, reopen its store, and
 * check that the chain and checkpoints verify and that every append it was told was
 * durable is there.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const writer = fileURLToPath(new URL('./fixtures/audit-writer.mjs', import.meta.url));
const compiledEntry = join(root, 'dist/nodes/audit/index.js');
const TOTAL = 30_000;
const BURST = 300;

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

/** The child runs compiled code; compile when dist is missing or older than a source it needs. */
function ensureCompiled(): void {
  const stale = ['nodes/audit', 'stores', 'common', 'trust-anchor/federation'].flatMap(sources).some((src) => {
    const out = join(root, 'dist', src.replace(/\.ts$/, '.js'));
    return !existsSync(out) || statSync(out).mtimeMs < statSync(join(root, src)).mtimeMs;
  });
  // tsc's status is ignored: it still emits when unrelated files of the tree do not type-check yet.
  if (stale) spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'ignore' });
  if (!existsSync(compiledEntry))
    throw new Error(`${relative(root, compiledEntry)} is missing after tsc; run npx tsc -p tsconfig.json`);
}

type Run = { code: number | null; signal: NodeJS.Signals | null; acked: number; stderr: string };

/** Runs the writer; with `killAfter`, SIGKILLs it a random moment after that many acknowledged bursts. */
function runWriter(path: string, killAfter?: number): Promise<Run> {
  const child: ChildProcess = spawn(process.execPath, [writer, path, BEIJING, String(TOTAL), String(BURST)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let bursts = 0;
  let acked = 0;
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    if (!line.startsWith('acked ')) return;
    acked = Number(line.slice('acked '.length));
    bursts++;
    // A few milliseconds later the child is usually inside its next transaction.
    if (bursts === killAfter) setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 5));
  });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, acked, stderr })));
}

/** Reopens the store as a restarted node would, and runs the offline verifier over it. */
async function verify(path: string): Promise<AuditVerifyReport> {
  const stores = openSqliteStores(path);
  try {
    const keys = (await stores.keys.list({ purpose: 'federation' })).items.map(publishedJwk);
    const evidence = await collectAuditExport(stores.audit, { nodeId: BEIJING, keys: { keys }, now: new Date() });
    return await verifyAuditExport(evidence, { now: new Date(), trustedKeys: { [BEIJING]: { keys } } });
  } finally {
    await stores.close();
  }
}

describe('the audit log survives kill -9 mid-append', () => {
  const dir = mkdtempSync(join(tmpdir(), 'citymesh-audit-crash-'));
  beforeAll(ensureCompiled, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('verifies after every crash and keeps every acknowledged append', async () => {
    const path = join(dir, 'node.db');
    let last = 0;
    for (let crash = 0; crash < 4; crash++) {
      const run = await runWriter(path, 2 + Math.floor(Math.random() * 12));
      expect(run.signal, run.stderr).toBe('SIGKILL');
      const report = await verify(path);
      expect(report.problems).toEqual([]);
      expect(report.valid).toBe(true);
      // Durable means durable: nothing acknowledged before the kill is missing.
      expect(report.verifiedThrough).toBeGreaterThanOrEqual(run.acked);
      expect(report.verifiedThrough).toBeGreaterThan(last);
      expect(report.verifiedThrough % BURST, 'whole batches or nothing').toBe(0);
      last = report.verifiedThrough;
    }
    const finish = await runWriter(path);
    expect(finish.code, finish.stderr).toBe(0);
    const report = await verify(path);
    expect(report).toMatchObject({ valid: true, uncheckpointed: 0 });
    expect(report.verifiedThrough).toBeGreaterThanOrEqual(TOTAL);
    expect(report.checkpoints.verified).toBe(report.checkpoints.total);
  }, 120_000);
});
