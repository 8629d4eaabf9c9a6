import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEntry, GENESIS_PREV_HASH } from '../../common/stores/audit-store.js';
import { openSqliteStores } from '../../stores/sqlite/index.js';
import { enrolJwt, IDENTITY, INIT_JWT, nodeOf, revokeJwt, tokenId } from './fixtures/anchor-plan.mjs';
import { auditHash, CITY, JOB_ID, manifestLine } from './fixtures/crash-manifest.mjs';

/*
 * kill -9 an importer between (and inside) its transactions, reopen the file, and check
 * that what the checkpoint says was imported is exactly what is in the database.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const importer = fileURLToPath(new URL('./fixtures/crash-importer.mjs', import.meta.url));
const enroller = fileURLToPath(new URL('./fixtures/anchor-enroller.mjs', import.meta.url));
const compiledEntry = join(root, 'dist/stores/sqlite/index.js');
const TOTAL_LINES = 50_000;
const LINES_PER_BATCH = 250;

/** `.ts` files under the folders the compiled SQLite stores are built from. */
function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

/**
 * The child runs compiled code (bare Node cannot run TypeScript), so compile when dist is
 * missing or older than any source it needs. tsc's exit status is ignored on purpose: it
 * still emits when unrelated files in the tree do not type-check yet; what matters is that
 * our output exists and is fresh.
 */
function ensureCompiled(): void {
  const stale = ['stores', 'common/stores', 'common/errors', 'common/ids'].flatMap(sources).some((src) => {
    const out = join(root, 'dist', src.replace(/\.ts$/, '.js'));
    return !existsSync(out) || statSync(out).mtimeMs < statSync(join(root, src)).mtimeMs;
  });
  if (stale) spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'ignore' });
  if (!existsSync(compiledEntry))
    throw new Error(`${relative(root, compiledEntry)} is missing after tsc; run npx tsc -p tsconfig.json`);
}

type Run = { code: number | null; signal: NodeJS.Signals | null; batches: number; stderr: string };

/**
 * Runs the importer; with `killAfter`, SIGKILLs it a moment after it reports that many
 * batches; with `dieMidBatch`, the importer kills itself inside an uncommitted batch.
 */
function runImporter(path: string, killAfter?: number, dieMidBatch = false): Promise<Run> {
  const args = [
    importer,
    path,
    String(TOTAL_LINES),
    String(LINES_PER_BATCH),
    ...(dieMidBatch ? ['die-mid-batch'] : []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let batches = 0;
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    if (!line.startsWith('batch ')) return;
    batches++;
    // A random few milliseconds later the child is usually inside its next transaction.
    if (batches === killAfter) setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 4));
  });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, batches, stderr })));
}

/** What the first `lines` lines of the manifest must have produced: the test's own oracle. */
function expectedCounts(lines: number) {
  const types = new Map<string, string>();
  let inserted = 0;
  let unchanged = 0;
  let rejected = 0;
  for (let i = 0; i < lines; i++) {
    const line = manifestLine(i);
    if (line.kind === 'invalid') {
      rejected++;
      continue;
    }
    const stored = types.get(line.deviceId);
    if (stored === undefined) {
      types.set(line.deviceId, line.type);
      inserted++;
    } else if (stored === line.type) unchanged++;
    else rejected++;
  }
  return { linesDone: lines, inserted, unchanged, rejected };
}

/** Opens the file as a node would after a crash and checks that rows, checkpoint and audit chain agree. */
async function verify(path: string): Promise<{ linesDone: number; auditEntries: number }> {
  const stores = openSqliteStores(path);
  try {
    const checkpoint = await stores.devices.getImportCheckpoint(JOB_ID);
    expect(checkpoint).toBeDefined();
    const linesDone = checkpoint?.linesDone ?? 0;
    expect(linesDone % LINES_PER_BATCH === 0 || linesDone === TOTAL_LINES).toBe(true);
    expect(checkpoint).toMatchObject(expectedCounts(linesDone));
    expect(await stores.devices.count({ city: CITY })).toBe(checkpoint?.inserted);

    const entries: AuditEntry[] = [];
    for (let from = 1; ; from += 1000) {
      const chunk = await stores.audit.range(from, 1000);
      entries.push(...chunk);
      if (chunk.length < 1000) break;
    }
    let previous = { sequence: 0, hash: GENESIS_PREV_HASH, linesDone: 0 };
    for (const entry of entries) {
      expect(entry.sequence).toBe(previous.sequence + 1);
      expect(entry.prevHash).toBe(previous.hash);
      expect(entry.hash).toBe(auditHash(entry.sequence, entry.prevHash, entry.payload));
      const logged = (JSON.parse(entry.payload) as { linesDone: number }).linesDone;
      expect(logged).toBeGreaterThan(previous.linesDone);
      previous = { sequence: entry.sequence, hash: entry.hash, linesDone: logged };
    }
    expect(await stores.audit.head()).toEqual({ sequence: entries.length, hash: previous.hash });
    // The audit entry follows its batch in a separate transaction, so it may trail by one batch.
    expect(previous.linesDone).toBeLessThanOrEqual(linesDone);
    return { linesDone, auditEntries: entries.length };
  } finally {
    await stores.close();
  }
}

function integrity(path: string): { check: string; journalMode: string } {
  const db = new Database(path, { readonly: true });
  try {
    return {
      check: db.pragma('integrity_check', { simple: true }) as string,
      journalMode: db.pragma('journal_mode', { simple: true }) as string,
    };
  } finally {
    db.close();
  }
}

describe('SQLite stores survive kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'citymesh-sqlite-crash-'));
  beforeAll(ensureCompiled, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resumes an import after each crash with counts that equal the rows, and no gap in the audit chain', async () => {
    const path = join(dir, 'resume.db');
    let lastLinesDone = 0;
    for (let crash = 0; crash < 3; crash++) {
      const run = await runImporter(path, 2 + Math.floor(Math.random() * 10));
      expect(run.signal, run.stderr).toBe('SIGKILL');
      const { linesDone } = await verify(path);
      expect(linesDone).toBeGreaterThan(lastLinesDone);
      expect(linesDone).toBeLessThan(TOTAL_LINES);
      lastLinesDone = linesDone;
    }
    const finish = await runImporter(path);
    expect(finish.code, finish.stderr).toBe(0);
    const { linesDone } = await verify(path);
    expect(linesDone).toBe(TOTAL_LINES);
    expect(integrity(path)).toEqual({ check: 'ok', journalMode: 'wal' });
  }, 120_000);

  it('discards the batch a process was writing when it died, checkpoint included', async () => {
    const path = join(dir, 'mid-batch.db');
    const run = await runImporter(path, undefined, true);
    expect(run.signal, run.stderr).toBe('SIGKILL');
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(1_000_000); // the dead transaction's pages reached the WAL
    const { linesDone } = await verify(path);
    expect(linesDone).toBe(4 * LINES_PER_BATCH);
    const stores = openSqliteStores(path);
    try {
      expect((await stores.devices.list({ city: CITY, type: 'ghost' })).items).toEqual([]);
    } finally {
      await stores.close();
    }
    const finish = await runImporter(path);
    expect(finish.code, finish.stderr).toBe(0);
    expect((await verify(path)).linesDone).toBe(TOTAL_LINES);
  }, 60_000);

  it('reopens a crashed database with an ordinary open: the WAL is recovered, and writing goes on', async () => {
    const path = join(dir, 'reopen.db');
    const run = await runImporter(path, 1);
    expect(run.signal, run.stderr).toBe('SIGKILL');
    // The WAL outlives the killed process; the next open replays or discards it.
    expect(existsSync(`${path}-wal`)).toBe(true);
    const { auditEntries } = await verify(path);
    expect(integrity(path)).toEqual({ check: 'ok', journalMode: 'wal' });
    const stores = openSqliteStores(path);
    try {
      const head = await stores.audit.head();
      expect(head.sequence).toBe(auditEntries);
      const payload = '{"after":"crash"}';
      const sequence = head.sequence + 1;
      await stores.audit.append([
        {
          sequence,
          at: new Date(0),
          kind: 'node.restarted',
          actor: 'test',
          payload,
          prevHash: head.hash,
          hash: auditHash(sequence, head.hash, payload),
        },
      ]);
      expect((await stores.audit.head()).sequence).toBe(sequence);
    } finally {
      await stores.close();
    }
  }, 60_000);
});

/*
 * kill -9 a trust anchor while it enrols nodes, reopen the file, and check that every
 * enrolment committed whole or not at all: token used, member and node written and the
 * metadata version published, together.
 */

const TOKENS = 60;

/** Runs the enroller; with `killAfter`, SIGKILLs it a moment after that many enrolments. */
function runEnroller(path: string, killAfter?: number, dieMidEnrol = false): Promise<Run> {
  const args = [enroller, path, String(TOKENS), ...(dieMidEnrol ? ['die-mid-enrol'] : [])];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let batches = 0;
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    if (!line.startsWith('enrolled ')) return;
    batches++;
    // A random few milliseconds later the child is usually inside its next write.
    if (batches === killAfter) setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 4));
  });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, batches, stderr })));
}

/** Opens the file as the anchor would after a crash and checks that no enrolment is half there. */
async function verifyAnchor(path: string): Promise<{ used: number }> {
  const stores = openSqliteStores(path);
  try {
    const anchor = stores.anchor;
    expect(await anchor.getIdentity()).toEqual(IDENTITY);

    // Versions are contiguous from 1, and each JWT says which write published it.
    const latest = (await anchor.latestMetadata())?.version ?? 0;
    const published = new Map<string, number>();
    for (let version = 1; version <= latest; version++) {
      const metadata = await anchor.getMetadata(version);
      expect(metadata?.version).toBe(version);
      expect(published.has(metadata?.jwt as string), `version ${version} repeats a write`).toBe(false);
      published.set(metadata?.jwt as string, version);
    }
    expect(published.get(INIT_JWT)).toBe(1);

    const nodes = new Map((await anchor.listMembers()).flatMap((m) => m.nodes).map((n) => [n.spiffeId, n]));
    let used = 0;
    let unusedSeen = false;
    for (let i = 0; i < TOKENS; i++) {
      const token = await anchor.getJoinToken(tokenId(i));
      const node = nodeOf(i);
      if (token?.usedAt === undefined) {
        unusedSeen = true;
        expect(nodes.has(node.spiffeId), `${tokenId(i)} is unused but its node exists`).toBe(false);
        expect(published.has(enrolJwt(i)), `${tokenId(i)} is unused but its metadata exists`).toBe(false);
        continue;
      }
      // Tokens are used in order, so the used ones are a prefix.
      expect(unusedSeen, `${tokenId(i)} is used after an unused token`).toBe(false);
      used++;
      expect(token.usedBy).toBe(node.spiffeId);
      expect(nodes.get(node.spiffeId), `${tokenId(i)} is used but its node is missing`).toEqual(node);
      expect(published.has(enrolJwt(i)), `${tokenId(i)} is used but its metadata is missing`).toBe(true);
    }
    expect(nodes.size).toBe(used);

    const revocations = await anchor.listRevocations();
    for (const revocation of revocations) expect(published.get(revokeJwt(revocation.id))).toBe(revocation.version);
    expect(published.size).toBe(1 + used + revocations.length);
    return { used };
  } finally {
    await stores.close();
  }
}

describe('The SQLite anchor store survives kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'citymesh-anchor-crash-'));
  beforeAll(ensureCompiled, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves every token either unused with nothing written for it, or used with its node and metadata', async () => {
    const path = join(dir, 'enrol.db');
    let lastUsed = 0;
    for (let crash = 0; crash < 4; crash++) {
      const run = await runEnroller(path, 2 + Math.floor(Math.random() * 8));
      expect(run.signal, run.stderr).toBe('SIGKILL');
      const { used } = await verifyAnchor(path);
      expect(used).toBeGreaterThan(lastUsed);
      expect(used).toBeLessThan(TOKENS);
      lastUsed = used;
    }
    const finish = await runEnroller(path);
    expect(finish.code, finish.stderr).toBe(0);
    expect((await verifyAnchor(path)).used).toBe(TOKENS);
    expect(integrity(path)).toEqual({ check: 'ok', journalMode: 'wal' });
  }, 120_000);

  it('discards an enrolment that died after using its token but before publishing its metadata', async () => {
    const path = join(dir, 'mid-enrol.db');
    const run = await runEnroller(path, undefined, true);
    expect(run.signal, run.stderr).toBe('SIGKILL');
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(1_000_000); // the dead transaction's pages reached the WAL
    expect((await verifyAnchor(path)).used).toBe(4);
    const stores = openSqliteStores(path);
    try {
      expect(await stores.anchor.getJoinToken(tokenId(4))).not.toHaveProperty('usedAt');
      const names = (await stores.anchor.listMembers()).flatMap((m) => m.nodes.map((n) => n.name));
      expect(names.filter((name) => name.startsWith('ghost-'))).toEqual([]);
    } finally {
      await stores.close();
    }
    const finish = await runEnroller(path);
    expect(finish.code, finish.stderr).toBe(0);
    expect((await verifyAnchor(path)).used).toBe(TOKENS);
  }, 60_000);

  it('keeps its promises against raw SQL too: metadata and revocations append-only, tokens used once', async () => {
    const path = join(dir, 'raw.db');
    const finish = await runEnroller(path);
    expect(finish.code, finish.stderr).toBe(0);
    const raw = new Database(path);
    try {
      const statements: [string, RegExp][] = [
        ["UPDATE anchor_metadata_versions SET jwt = 'forged' WHERE version = 2", /append-only/],
        ['DELETE FROM anchor_metadata_versions WHERE version = 3', /append-only/],
        [
          "INSERT INTO anchor_metadata_versions (version, jwt, issued_at, expires_at) VALUES (1000, 'skip', 0, 0)",
          /metadata version conflict/,
        ],
        ['UPDATE anchor_join_tokens SET used_at = NULL, used_by = NULL', /used once/],
        ["UPDATE anchor_join_tokens SET used_by = 'spiffe://elsewhere'", /used once/],
        ["UPDATE anchor_revocations SET reason = 'never mind'", /permanent/],
        ['DELETE FROM anchor_revocations', /permanent/],
        ["UPDATE anchor_identity SET cluster = 'other'", /written once/],
      ];
      for (const [sql, refusal] of statements) expect(() => raw.prepare(sql).run(), sql).toThrow(refusal);
    } finally {
      raw.close();
    }
    expect((await verifyAnchor(path)).used).toBe(TOKENS);
  }, 60_000);
});
