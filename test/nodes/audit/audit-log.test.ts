import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isMeshError } from '../../../common/errors/mesh-error.js';
import type { AuditEntry, AuditHead, AuditStore } from '../../../common/stores/audit-store.js';
import { AuditLog, hashEntry, verifyAuditExport, verifyCheckpoint } from '../../../nodes/audit/index.js';
import { openMemoryStores, openSqliteStores } from '../../../stores/index.js';
import { openNode } from './scenario.js';
import { BEIJING, clock, newKey } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'citymesh-audit-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real store that records each transaction it commits, and can be told to fail the next one. */
function recording(inner: AuditStore) {
  const batches: number[] = [];
  let failNext = false;
  let gate: Promise<void> | undefined;
  const store: AuditStore = {
    append: async (entries: readonly AuditEntry[]): Promise<AuditHead> => {
      if (failNext) {
        failNext = false;
        throw new Error('disk full');
      }
      const head = await inner.append(entries);
      batches.push(entries.length);
      return head;
    },
    appendWithReceipts: async (entries, receipts) => {
      if (gate) await gate;
      if (failNext) {
        failNext = false;
        throw new Error('disk full');
      }
      const stored = await inner.appendWithReceipts(entries, receipts);
      batches.push(entries.length);
      return stored;
    },
    head: () => inner.head(),
    range: (from, limit) => inner.range(from, limit),
    get: (sequence) => inner.get(sequence),
    putCheckpoint: (c) => inner.putCheckpoint(c),
    latestCheckpoint: () => inner.latestCheckpoint(),
    listCheckpoints: (page) => inner.listCheckpoints(page),
    putReceipt: (r) => inner.putReceipt(r),
    getReceipts: (id) => inner.getReceipts(id),
    listReceipts: (page) => inner.listReceipts(page),
  };
  return {
    store,
    batches,
    failNextAppend: () => (failNext = true),
    /** Holds every commit until the returned function is called: a commit "in flight". */
    hold: () => {
      let release = () => {};
      gate = new Promise((resolve) => {
        release = () => {
          gate = undefined;
          resolve();
        };
      });
      return release;
    },
  };
}

const event = (i: number) => ({ kind: 'decision.made', actor: 'system', payload: { i } });

describe('AuditLog', () => {
  it('chains entries: each links to the previous hash, and each hash recomputes', async () => {
    const node = await openNode(BEIJING);
    for (let i = 0; i < 5; i++) await node.log.append(event(i));
    const entries = await node.stores.audit.range(1, 100);
    expect(entries.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
    for (const [i, e] of entries.entries()) {
      expect(e.hash).toBe(hashEntry(e));
      if (i > 0) expect(e.prevHash).toBe(entries[i - 1]?.hash);
    }
  });

  it('never forks the chain under concurrent appends, and commits a burst in few transactions', async () => {
    const stores = openSqliteStores(join(dir, 'burst.db'));
    const { store, batches } = recording(stores.audit);
    const key = await newKey(stores.keys);
    const log = await AuditLog.open({
      store,
      clock: clock(),
      signer: key.signer,
      nodeId: BEIJING,
      checkpointEvery: 1e6,
    });
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => log.append(event(i))));
    expect(results.map((r) => r.sequence).sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(batches.reduce((a, b) => a + b, 0)).toBe(2000);
    expect(batches.length).toBeLessThanOrEqual(2);
    const report = await verifyAuditExport(
      {
        header: { nodeId: BEIJING, exportedAt: new Date(), keys: key.jwks, head: log.head },
        entries: await readAll(stores.audit),
        checkpoints: [],
        receipts: [],
      },
      { now: new Date() },
    );
    expect(report.valid).toBe(true);
    await stores.close();
  });

  it('groups appends that arrive while a commit is in flight into the next transaction', async () => {
    const { store, batches, hold } = recording(openMemoryStores().audit);
    const key = await newKey();
    const log = await AuditLog.open({ store, clock: clock(), signer: key.signer, nodeId: BEIJING });
    const release = hold();
    const first = log.append(event(0));
    await new Promise((resolve) => setImmediate(resolve)); // the first transaction starts, and waits
    await new Promise((resolve) => setImmediate(resolve));
    const rest = Array.from({ length: 50 }, (_, i) => log.append(event(i + 1)));
    release();
    await Promise.all([first, ...rest]);
    expect(batches).toEqual([1, 50]);
  });

  it('resolves an append only once the store has committed it', async () => {
    const stores = openMemoryStores();
    const key = await newKey();
    const log = await AuditLog.open({ store: stores.audit, clock: clock(), signer: key.signer, nodeId: BEIJING });
    const appended = await log.append(event(1));
    expect(await stores.audit.get(appended.sequence)).toMatchObject({ sequence: 1, hash: appended.hash });
  });

  it('rejects every append of a failed transaction, writes none of them, and goes on', async () => {
    const stores = openMemoryStores();
    const { store, failNextAppend } = recording(stores.audit);
    const key = await newKey();
    const log = await AuditLog.open({ store, clock: clock(), signer: key.signer, nodeId: BEIJING });
    await log.append(event(0));
    failNextAppend();
    const failed = await Promise.allSettled([log.append(event(1)), log.append(event(2))]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await stores.audit.head()).toMatchObject({ sequence: 1 });
    expect(await log.append(event(3))).toMatchObject({ sequence: 2 });
  });

  it('refuses a malformed event at once without failing the others in its batch', async () => {
    const node = await openNode(BEIJING);
    const good = node.log.append(event(1));
    const bad = node.log.append({ kind: 'Not A Kind', actor: 'system', payload: {} });
    const nan = node.log.append({ kind: 'x.happened', actor: 'system', payload: { n: Number.NaN } });
    await expect(bad).rejects.toSatisfy((e) => isMeshError(e, 'MALFORMED_REQUEST'));
    await expect(nan).rejects.toSatisfy((e) => isMeshError(e, 'MALFORMED_REQUEST'));
    expect(await good).toMatchObject({ sequence: 1 });
  });

  it('continues the chain of a reopened store, even after another writer appended', async () => {
    const path = join(dir, 'reopen.db');
    let stores = openSqliteStores(path);
    const key = await newKey(stores.keys);
    let log = await AuditLog.open({ store: stores.audit, clock: clock(), signer: key.signer, nodeId: BEIJING });
    await log.append(event(1));
    await log.close();
    await stores.close();
    stores = openSqliteStores(path);
    log = await AuditLog.open({ store: stores.audit, clock: clock(), signer: key.signer, nodeId: BEIJING });
    const other = await AuditLog.open({ store: stores.audit, clock: clock(), signer: key.signer, nodeId: BEIJING });
    await other.append(event(2));
    // `log` still thinks the head is 1: its batch is refused, rebuilt on the store's head
    // and committed; the caller never sees the other writer.
    expect(await log.append(event(3))).toMatchObject({ sequence: 3 });
    expect(await log.append(event(4))).toMatchObject({ sequence: 4 });
    const chain = await stores.audit.range(1, 10);
    expect(chain.map((e) => e.prevHash)).toEqual([expect.any(String), chain[0]!.hash, chain[1]!.hash, chain[2]!.hash]);
    await stores.close();
  });

  it('signs a checkpoint every N entries and one at the head on close', async () => {
    const node = await openNode(BEIJING, { checkpointEvery: 10 });
    for (let i = 0; i < 25; i++) await node.log.append(event(i));
    await node.log.flush();
    expect((await node.stores.audit.listCheckpoints()).items.map((c) => c.sequence)).toEqual([10, 20]);
    await node.log.close();
    const checkpoints = (await node.stores.audit.listCheckpoints()).items;
    expect(checkpoints.map((c) => c.sequence)).toEqual([10, 20, 25]);
    for (const c of checkpoints) await verifyCheckpoint(c, { keys: node.key.jwks, nodeId: BEIJING, now: new Date() });
    await expect(node.log.append(event(99))).rejects.toThrow(/closed/);
  });
});

async function readAll(store: AuditStore): Promise<AuditEntry[]> {
  const all: AuditEntry[] = [];
  for (;;) {
    const page = await store.range(all.length + 1, 1000);
    all.push(...page);
    if (page.length < 1000) return all;
  }
}
