import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditCheckpoint } from '../../../common/stores/audit-store.js';
import {
  type AuditExport,
  collectAuditExport,
  crossCheckExports,
  hashEntry,
  keySigner,
  signCheckpoint,
  signReceipt,
  verifyAuditExport,
} from '../../../nodes/audit/index.js';
import { openSqliteStores } from '../../../stores/index.js';
import { exchange, openNode, twoCityScenario } from './scenario.js';
import { BEIJING, digest, FETCH, HEBEI, newKey, TIANJIN } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'citymesh-audit-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const now = new Date(Date.UTC(2025, 5, 2));

function withEntries(exp: AuditExport, change: (e: AuditExport['entries']) => AuditExport['entries']): AuditExport {
  return { ...exp, entries: change([...exp.entries]) };
}

describe('verifyAuditExport', () => {
  it('accepts an untouched two-city log: chain, checkpoints and receipts on both sides', async () => {
    const { consumerExport, providerExport, consumer, provider } = await twoCityScenario(5);
    const p = await verifyAuditExport(providerExport, { now });
    expect(p).toMatchObject({ valid: true, entries: 6, verifiedThrough: 6, uncheckpointed: 0, problems: [] });
    expect(p.receipts).toEqual({ total: 5, verified: 5, unchecked: 0 });
    const c = await verifyAuditExport(consumerExport, { now, peerKeys: { [BEIJING]: provider.key.jwks } });
    expect(c).toMatchObject({ valid: true, entries: 10, keySource: 'export' });
    expect(c.receipts).toEqual({ total: 5, verified: 5, unchecked: 0 });
    // Without the provider's keys the consumer's receipts are counted, not trusted.
    expect((await verifyAuditExport(consumerExport, { now })).receipts.unchecked).toBe(5);
    // Pinned keys are used instead of the header's.
    const pinned = await verifyAuditExport(consumerExport, { now, trustedKeys: { [TIANJIN]: consumer.key.jwks } });
    expect(pinned).toMatchObject({ valid: true, keySource: 'trusted' });
  });

  it('finds an entry edited inside the SQLite file (trigger dropped), naming its sequence', async () => {
    const path = join(dir, 'edited.db');
    const stores = openSqliteStores(path);
    const node = await openNode(BEIJING, { stores, checkpointEvery: 100 });
    for (let i = 1; i <= 20; i++) await node.log.append({ kind: 'decision.made', actor: 'system', payload: { i } });
    await node.log.close();
    const raw = new Database(path);
    expect(() => raw.prepare('UPDATE audit_entries SET actor = ? WHERE sequence = 7').run('mallory')).toThrow(
      /append-only/,
    );
    raw.exec('DROP TRIGGER audit_entries_no_update');
    raw.prepare('UPDATE audit_entries SET payload = ? WHERE sequence = 7').run('{"i":700}');
    raw.close();
    const report = await verifyAuditExport(await node.exportNow(), { now });
    expect(report.valid).toBe(false);
    expect(report.firstBroken).toMatchObject({ sequence: 7, code: 'AUDIT_CHAIN_BROKEN' });
    expect(report.verifiedThrough).toBe(6);
    await stores.close();
  });

  it('finds an entry rewritten with every later hash recomputed, through the signed checkpoint', async () => {
    const path = join(dir, 'rewritten.db');
    const stores = openSqliteStores(path);
    const node = await openNode(BEIJING, { stores, checkpointEvery: 10 });
    for (let i = 1; i <= 20; i++) await node.log.append({ kind: 'decision.made', actor: 'system', payload: { i } });
    await node.log.close();
    const raw = new Database(path);
    raw.exec('DROP TRIGGER audit_entries_no_update');
    const rows = raw.prepare('SELECT * FROM audit_entries WHERE sequence >= 13 ORDER BY sequence').all() as {
      sequence: number;
      at: number;
      kind: string;
      actor: string;
      payload: string;
      prev_hash: string;
    }[];
    let prev = rows[0]?.prev_hash as string;
    for (const row of rows) {
      const payload = row.sequence === 13 ? '{"i":1300}' : row.payload;
      const hash = hashEntry({ ...row, at: new Date(row.at), payload, prevHash: prev });
      raw
        .prepare('UPDATE audit_entries SET payload = ?, prev_hash = ?, hash = ? WHERE sequence = ?')
        .run(payload, prev, hash, row.sequence);
      prev = hash;
    }
    raw.close();
    const report = await verifyAuditExport(await node.exportNow(), { now });
    expect(report.valid).toBe(false);
    expect(report.verifiedThrough).toBe(20); // the chain itself is consistent again...
    expect(report.problems).toContainEqual(
      expect.objectContaining({ code: 'AUDIT_CHECKPOINT_INVALID', rule: 'chain-mismatch' }),
    );
    expect(report.firstBroken?.sequence).toBe(11); // ...but checkpoint 20 pins it: broken after checkpoint 10
    await stores.close();
  });

  it('finds entries deleted from the tail when a checkpoint covers them', async () => {
    const { providerExport } = await twoCityScenario(3);
    const report = await verifyAuditExport(
      withEntries(providerExport, (e) => e.slice(0, -2)),
      { now },
    );
    expect(report.valid).toBe(false);
    expect(report.problems.map((p) => p.rule)).toEqual(expect.arrayContaining(['head', 'truncated']));
  });

  it('refuses a forged checkpoint: another key, a borrowed kid, a changed hash, a swapped signature, another node', async () => {
    const { providerExport, provider } = await twoCityScenario(5);
    expect(providerExport.checkpoints.map((c) => c.sequence)).toEqual([4, 6]);
    const head = providerExport.header.head;
    const mallory = await newKey();
    const last = providerExport.checkpoints.at(-1) as AuditCheckpoint;
    const signedAt = last.signedAt;
    const borrowedKid = keySigner({ ...mallory.signingKey, kid: provider.key.kid });
    const cases: [string, AuditCheckpoint, string][] = [
      ['another key', await signCheckpoint({ ...head, nodeId: BEIJING, signedAt }, mallory.signer), 'kid-unknown'],
      ['a borrowed kid', await signCheckpoint({ ...head, nodeId: BEIJING, signedAt }, borrowedKid), 'signature'],
      ['a changed hash', { ...last, hash: digest('other') }, 'hash'],
      ['a swapped signature', { ...last, signature: providerExport.checkpoints[0]?.signature as string }, 'sequence'],
      ['another node', await signCheckpoint({ ...head, nodeId: HEBEI, signedAt }, provider.key.signer), 'node'],
    ];
    for (const [what, checkpoint, rule] of cases) {
      const report = await verifyAuditExport({ ...providerExport, checkpoints: [checkpoint] }, { now });
      expect(report.valid, what).toBe(false);
      expect(report.problems[0], what).toMatchObject({ code: 'AUDIT_CHECKPOINT_INVALID', rule });
    }
  });

  it('refuses keys swapped into the header when the auditor pins the real ones', async () => {
    const { providerExport, provider } = await twoCityScenario(2);
    // Mallory rewrites entry 2 and re-signs every checkpoint and receipt with her key.
    const mallory = await newKey();
    const rewritten = (await twoCityScenario(2)).providerExport;
    const forged: AuditExport = { ...rewritten, header: { ...rewritten.header, keys: mallory.jwks } };
    expect(
      (await verifyAuditExport(providerExport, { now, trustedKeys: { [BEIJING]: provider.key.jwks } })).valid,
    ).toBe(true);
    const report = await verifyAuditExport(forged, { now, trustedKeys: { [BEIJING]: provider.key.jwks } });
    expect(report.valid).toBe(false);
    expect(report.problems[0]).toMatchObject({ code: 'AUDIT_CHECKPOINT_INVALID', rule: 'kid-unknown' });
  });

  it('refuses a provider receipt that names another entry or was signed for other digests', async () => {
    const { providerExport } = await twoCityScenario(2);
    const receipts = providerExport.receipts.map((r, i) => (i === 0 ? { ...r, auditSequence: 1 } : r));
    const report = await verifyAuditExport({ ...providerExport, receipts }, { now });
    expect(report.problems).toContainEqual(expect.objectContaining({ code: 'RECEIPT_INVALID', rule: 'audit-entry' }));
  });
});

describe('crossCheckExports', () => {
  it('confirms every receipt the consumer holds against the provider log', async () => {
    const { consumerExport, providerExport } = await twoCityScenario(4);
    const report = await crossCheckExports(consumerExport, providerExport, { now });
    expect(report).toMatchObject({ valid: true, receipts: 4, matched: 4, problems: [] });
    expect(report.consumer.receipts.verified).toBe(4);
  });

  it('reports AUDIT_MISMATCH when the provider signed a receipt for an entry its log does not back', async () => {
    // A dishonest provider signs a receipt but logs something else under that sequence.
    const consumer = await openNode(TIANJIN);
    const provider = await openNode(BEIJING);
    await exchange(consumer, provider, 1);
    const facts = { correlationId: 'corr-2', method: FETCH, requestHash: digest('q2'), responseDigest: digest('r2') };
    const logged = await provider.log.append({
      kind: 'exchange.served',
      actor: TIANJIN,
      correlationId: 'corr-2',
      payload: { ...facts, requestHash: digest('something else'), consumerNodeId: TIANJIN, providerNodeId: BEIJING },
    });
    const receipt = await signReceipt(
      {
        ...facts,
        providerNodeId: BEIJING,
        consumerNodeId: TIANJIN,
        auditSequence: logged.sequence,
        issuedAt: provider.clock.now(),
      },
      provider.key.signer,
    );
    await consumer.exchange.consumed({ ...facts, providerNodeId: BEIJING, providerKeys: provider.key.jwks, receipt });
    await consumer.log.close();
    await provider.log.close();
    const report = await crossCheckExports(await consumer.exportNow(), await provider.exportNow(), { now });
    expect(report.valid).toBe(false);
    expect(report.matched).toBe(1);
    expect(report.problems).toEqual([
      expect.objectContaining({ code: 'AUDIT_MISMATCH', rule: 'provider-entry-differs', correlationId: 'corr-2' }),
    ]);
    expect(report.problems[0]?.message).toContain('requestHash differs');
  });

  it('reports AUDIT_MISMATCH when the provider log lacks the entry a receipt names', async () => {
    const { consumerExport, providerExport } = await twoCityScenario(3);
    const cut: AuditExport = {
      ...providerExport,
      header: { ...providerExport.header, head: { sequence: 2, hash: providerExport.entries[1]?.hash as string } },
      entries: providerExport.entries.slice(0, 2),
      checkpoints: [],
      receipts: providerExport.receipts.slice(0, 1),
    };
    const report = await crossCheckExports(consumerExport, cut, { now });
    expect(report.valid).toBe(false);
    expect(report.problems.map((p) => [p.code, p.rule])).toEqual([
      ['AUDIT_MISMATCH', 'provider-entry-missing'],
      ['AUDIT_MISMATCH', 'provider-entry-missing'],
    ]);
  });

  it('reports an exchange the provider logged for this consumer that the consumer never recorded', async () => {
    const { consumer, provider } = await twoCityScenario(2);
    void consumer;
    const extra = await openNode(BEIJING, { stores: provider.stores, key: provider.key, clock: provider.clock });
    await extra.exchange.served({
      correlationId: 'corr-ghost',
      method: FETCH,
      requestHash: digest('g'),
      responseDigest: digest('h'),
      consumerNodeId: TIANJIN,
    });
    await extra.log.close();
    provider.clock.advance(1000);
    const consumerExport = await collectAuditExport(consumer.stores.audit, {
      nodeId: TIANJIN,
      keys: consumer.key.jwks,
      now: provider.clock.now(),
    });
    const report = await crossCheckExports(consumerExport, await extra.exportNow(), { now });
    expect(report.problems).toEqual([
      expect.objectContaining({ code: 'AUDIT_MISMATCH', rule: 'consumer-entry-missing', correlationId: 'corr-ghost' }),
    ]);
  });
});
