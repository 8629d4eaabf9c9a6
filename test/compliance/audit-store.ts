import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AuditEntry,
  type AuditReceipt,
  type AuditStore,
  GENESIS_PREV_HASH,
} from '../../common/stores/audit-store.js';
import { chainFrom, genesisChain, hex64 } from './fixtures.js';
import { at, collectPages, expectMeshError, forgedTokens, type OpenStore, withStore } from './support.js';

function aReceipt(overrides: Partial<AuditReceipt> = {}): AuditReceipt {
  return {
    correlationId: 'corr-1',
    role: 'provider',
    receiptJws: 'eyJhbGciOiJFUzI1NiJ9.e30.sig',
    auditSequence: 1,
    at: at(5),
    ...overrides,
  };
}

/** Runs the {@link AuditStore} contract against one implementation. */
export function describeAuditStoreCompliance(name: string, open: OpenStore<AuditStore>): void {
  describe(`AuditStore compliance: ${name}`, () => {
    const run = <R>(body: (store: AuditStore) => Promise<R>) => withStore(open, body);

    describe('append', () => {
      it('starts empty at the genesis head', () =>
        run(async (audit) => {
          expect(await audit.head()).toEqual({ sequence: 0, hash: GENESIS_PREV_HASH });
          expect(await audit.get(1)).toBeUndefined();
          expect(await audit.range(1, 10)).toEqual([]);
        }));

      it('appends a chain in batches and reads it back', () =>
        run(async (audit) => {
          const first = genesisChain(3);
          const head = await audit.append(first);
          expect(head).toEqual({ sequence: 3, hash: first[2]?.hash });
          const second = chainFrom(head, 2, 'corr-9');
          await audit.append(second);
          expect(await audit.head()).toEqual({ sequence: 5, hash: second[1]?.hash });
          expect(await audit.range(1, 100)).toEqual([...first, ...second]);
          expect(await audit.range(4, 1)).toEqual([second[0]]);
          expect(await audit.get(5)).toEqual(second[1]);
        }));

      const tampered: [string, (chain: AuditEntry[]) => AuditEntry[]][] = [
        ['a batch that skips a sequence', (c) => c.map((e) => ({ ...e, sequence: e.sequence + 1 }))],
        ['a batch that repeats the head', (c) => c.map((e) => ({ ...e, sequence: e.sequence - 1 }))],
        [
          'a first entry not linked to the head',
          (c) => [{ ...(c[0] as AuditEntry), prevHash: hex64('elsewhere') }, ...c.slice(1)],
        ],
        [
          'a gap inside the batch',
          (c) => [c[0] as AuditEntry, { ...(c[1] as AuditEntry), sequence: (c[1] as AuditEntry).sequence + 1 }],
        ],
        [
          'a broken link inside the batch',
          (c) => [c[0] as AuditEntry, { ...(c[1] as AuditEntry), prevHash: hex64('x') }],
        ],
        ['entries out of order', (c) => [c[1] as AuditEntry, c[0] as AuditEntry]],
      ];

      it.each(tampered)('refuses %s with AUDIT_CHAIN_BROKEN and writes nothing', (_what, tamper) =>
        run(async (audit) => {
          const head = await audit.append(genesisChain(2));
          await expectMeshError(audit.append(tamper(chainFrom(head, 2))), 'AUDIT_CHAIN_BROKEN');
          expect(await audit.head()).toEqual(head);
          expect(await audit.get(3)).toBeUndefined();
          expect(await audit.range(1, 100)).toHaveLength(2);
        }),
      );

      it('refuses a genesis entry that does not start at 1 with the zero hash', () =>
        run(async (audit) => {
          const [genesis] = genesisChain(1) as [AuditEntry];
          await expectMeshError(audit.append([{ ...genesis, prevHash: hex64('x') }]), 'AUDIT_CHAIN_BROKEN');
          await expectMeshError(audit.append([{ ...genesis, sequence: 2 }]), 'AUDIT_CHAIN_BROKEN');
          expect(await audit.head()).toEqual({ sequence: 0, hash: GENESIS_PREV_HASH });
        }));

      it.each<[string, Partial<AuditEntry>]>([
        ['a hash that is not 64 hex digits', { hash: 'ABC' }],
        ['a payload that is not JSON', { payload: '{oops' }],
        ['an empty actor', { actor: '' }],
      ])('refuses %s as malformed', (_what, overrides) =>
        run(async (audit) => {
          const [genesis] = genesisChain(1) as [AuditEntry];
          await expectMeshError(audit.append([{ ...genesis, ...overrides }]), 'MALFORMED_REQUEST');
        }),
      );

      it('lets only one of two appenders extend the same head', () =>
        run(async (audit) => {
          const head = await audit.append(genesisChain(1));
          const a = chainFrom(head, 1, 'a');
          const b = chainFrom(head, 2, 'b');
          const results = await Promise.allSettled([audit.append(a), audit.append(b)]);
          expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
          const entries = await audit.range(1, 10);
          for (let i = 1; i < entries.length; i++) expect(entries[i]?.prevHash).toBe(entries[i - 1]?.hash);
        }));

      it('keeps the chain contiguous under any mix of valid and tampered batches', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(
              fc.record({
                size: fc.integer({ min: 1, max: 4 }),
                tamper: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
              }),
              {
                maxLength: 10,
              },
            ),
            (steps) =>
              run(async (audit) => {
                let expected = 0;
                for (const step of steps) {
                  const batch = chainFrom(await audit.head(), step.size);
                  if (step.tamper === undefined) {
                    await audit.append(batch);
                    expected += step.size;
                    continue;
                  }
                  const i = Math.min(step.tamper, batch.length - 1);
                  const victim = batch[i] as AuditEntry;
                  batch[i] =
                    i % 2 === 0
                      ? { ...victim, prevHash: hex64(`t${i}`) }
                      : { ...victim, sequence: victim.sequence + 7 };
                  await expectMeshError(audit.append(batch), 'AUDIT_CHAIN_BROKEN');
                }
                const entries = await audit.range(1, 1000);
                expect(entries.map((e) => e.sequence)).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
                entries.forEach((e, i) => {
                  expect(e.prevHash).toBe(i === 0 ? GENESIS_PREV_HASH : entries[i - 1]?.hash);
                });
              }),
          ),
          { numRuns: 25 },
        );
      });
    });

    describe('checkpoints', () => {
      it('stores checkpoints and reports the latest', () =>
        run(async (audit) => {
          const chain = genesisChain(5);
          await audit.append(chain);
          expect(await audit.latestCheckpoint()).toBeUndefined();
          const cp = (sequence: number) => ({
            sequence,
            hash: chain[sequence - 1]?.hash as string,
            signedAt: at(sequence),
            kid: 'audit-1',
            signature: `sig-${sequence}`,
          });
          await audit.putCheckpoint(cp(4));
          await audit.putCheckpoint(cp(2));
          expect(await audit.latestCheckpoint()).toEqual(cp(4));
          expect((await audit.listCheckpoints()).items).toEqual([cp(2), cp(4)]);
        }));

      it('refuses a checkpoint whose hash differs from the entry it names', () =>
        run(async (audit) => {
          await audit.append(genesisChain(2));
          await expectMeshError(
            audit.putCheckpoint({
              sequence: 2,
              hash: hex64('forged'),
              signedAt: at(1),
              kid: 'audit-1',
              signature: 'sig',
            }),
            'AUDIT_CHECKPOINT_INVALID',
          );
          expect(await audit.latestCheckpoint()).toBeUndefined();
        }));

      it('refuses a checkpoint beyond the head', () =>
        run(async (audit) => {
          await audit.append(genesisChain(2));
          await expectMeshError(
            audit.putCheckpoint({ sequence: 3, hash: hex64('x'), signedAt: at(1), kid: 'audit-1', signature: 'sig' }),
            'AUDIT_ENTRY_NOT_FOUND',
          );
        }));

      it('treats an identical checkpoint as a no-op and refuses a different one at the same sequence', () =>
        run(async (audit) => {
          const [e] = await Promise.all([genesisChain(1)]);
          await audit.append(e);
          const cp = { sequence: 1, hash: e[0]?.hash as string, signedAt: at(1), kid: 'audit-1', signature: 'sig' };
          await audit.putCheckpoint(cp);
          await audit.putCheckpoint({ ...cp });
          await expectMeshError(audit.putCheckpoint({ ...cp, signature: 'other' }), 'ALREADY_EXISTS');
        }));

      it('pages through checkpoints exactly once and refuses forged tokens', () =>
        run(async (audit) => {
          const chain = genesisChain(9);
          await audit.append(chain);
          for (const e of chain)
            await audit.putCheckpoint({
              sequence: e.sequence,
              hash: e.hash,
              signedAt: at(e.sequence),
              kid: 'k',
              signature: 's',
            });
          const pages = await collectPages((page) => audit.listCheckpoints(page), 4);
          expect(pages.map((p) => p.length)).toEqual([4, 4, 1]);
          expect(pages.flat().map((c) => c.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
          const token = (await audit.listCheckpoints({ pageSize: 2 })).nextPageToken as string;
          for (const forged of forgedTokens(token))
            await expectMeshError(audit.listCheckpoints({ pageToken: forged }), 'INVALID_PAGE_TOKEN');
          await expectMeshError(audit.listReceipts({ pageToken: token }), 'INVALID_PAGE_TOKEN');
        }));
    });

    describe('receipts', () => {
      it('keeps both sides of an exchange under one correlation id, consumer first', () =>
        run(async (audit) => {
          await audit.putReceipt(aReceipt({ role: 'provider' }));
          await audit.putReceipt(aReceipt({ role: 'consumer', auditSequence: 42 }));
          await audit.putReceipt(aReceipt({ correlationId: 'corr-2' }));
          expect(await audit.getReceipts('corr-1')).toEqual([
            aReceipt({ role: 'consumer', auditSequence: 42 }),
            aReceipt({ role: 'provider' }),
          ]);
          expect(await audit.getReceipts('none')).toEqual([]);
        }));

      it('stores entries and receipts in one transaction, reporting a conflicting receipt without failing the batch', () =>
        run(async (audit) => {
          await audit.putReceipt(aReceipt({ correlationId: 'taken' }));
          const entries = genesisChain(2);
          const stored = await audit.appendWithReceipts(entries, [
            aReceipt({ correlationId: 'fresh', auditSequence: 2 }),
            aReceipt({ correlationId: 'taken', receiptJws: 'other.receipt.jws' }),
          ]);
          expect(stored.head).toEqual({ sequence: 2, hash: entries[1]!.hash });
          expect(stored.conflicts).toEqual([1]);
          expect(await audit.getReceipts('fresh')).toEqual([aReceipt({ correlationId: 'fresh', auditSequence: 2 })]);
          expect(await audit.getReceipts('taken')).toEqual([aReceipt({ correlationId: 'taken' })]);
        }));

      it('writes no receipt when the entries of the same call are refused', () =>
        run(async (audit) => {
          await audit.append(genesisChain(1));
          await expectMeshError(
            audit.appendWithReceipts(genesisChain(1), [aReceipt({ correlationId: 'lost' })]),
            'AUDIT_CHAIN_BROKEN',
          );
          expect(await audit.getReceipts('lost')).toEqual([]);
          expect((await audit.head()).sequence).toBe(1);
        }));

      it('treats an identical receipt as a no-op and refuses a different one for the same side', () =>
        run(async (audit) => {
          await audit.putReceipt(aReceipt());
          await audit.putReceipt(aReceipt());
          await expectMeshError(audit.putReceipt(aReceipt({ receiptJws: 'x.y.z' })), 'ALREADY_EXISTS');
          expect(await audit.getReceipts('corr-1')).toEqual([aReceipt()]);
        }));

      it('pages through every receipt exactly once', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.uniqueArray(
              fc.tuple(
                fc.stringMatching(/^[a-z0-9]{1,5}$/),
                fc.constantFrom<AuditReceipt['role']>('consumer', 'provider'),
              ),
              {
                selector: ([c, r]) => `${c}/${r}`,
                maxLength: 30,
              },
            ),
            fc.integer({ min: 1, max: 8 }),
            (keys, pageSize) =>
              run(async (audit) => {
                for (const [correlationId, role] of keys) await audit.putReceipt(aReceipt({ correlationId, role }));
                const seen = (await collectPages((page) => audit.listReceipts(page), pageSize))
                  .flat()
                  .map((r) => `${r.correlationId}/${r.role}`);
                expect(new Set(seen).size).toBe(seen.length);
                expect([...seen].sort()).toEqual(keys.map(([c, r]) => `${c}/${r}`).sort());
              }),
          ),
          { numRuns: 20 },
        );
      });
    });
  });
}
