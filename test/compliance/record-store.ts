import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordStore } from '../../common/stores/record-store.js';
import { at, expectMeshError, type OpenStore, withStore } from './support.js';

const DS = 'jjj/tianjin/eco/air@1.0.0';
const json = (n: number) => JSON.stringify({ pm25: n });

/** Runs the {@link RecordStore} contract against one implementation. */
export function describeRecordStoreCompliance(name: string, open: OpenStore<RecordStore>): void {
  describe(`RecordStore compliance: ${name}`, () => {
    const run = <R>(body: (store: RecordStore) => Promise<R>) => withStore(open, body);

    it('numbers records per dataset from 1, contiguously across batches', () =>
      run(async (records) => {
        expect(await records.appendBatch(DS, [{ json: json(1) }, { json: json(2) }], at(1))).toEqual({
          firstSequence: 1,
          lastSequence: 2,
        });
        expect(await records.appendBatch(DS, [{ json: json(3) }], at(2))).toEqual({
          firstSequence: 3,
          lastSequence: 3,
        });
        expect(await records.appendBatch('other', [{ json: json(9) }], at(3))).toEqual({
          firstSequence: 1,
          lastSequence: 1,
        });
        expect(await records.count(DS)).toBe(3);
      }));

    it('reports the high-water sequence, which a delete does not lower', () =>
      run(async (records) => {
        expect(await records.highSequence(DS)).toBe(0);
        await records.appendBatch(DS, [{ json: json(1) }, { json: json(2) }], at(1));
        await records.appendBatch('other', [{ json: json(9) }], at(2));
        expect(await records.highSequence(DS)).toBe(2);
        expect(await records.deleteDataset(DS)).toBe(2);
        expect(await records.highSequence(DS)).toBe(2);
        expect(await records.highSequence('other')).toBe(1);
      }));

    it('reads records back in sequence order, with ids and times', () =>
      run(async (records) => {
        await records.appendBatch(DS, [{ recordId: 'r1', json: json(1) }, { json: json(2) }], at(7));
        expect((await records.page(DS)).items).toEqual([
          { datasetId: DS, sequence: 1, recordId: 'r1', json: json(1), appendedAt: at(7) },
          { datasetId: DS, sequence: 2, json: json(2), appendedAt: at(7) },
        ]);
      }));

    it('refuses a recordId already in the dataset and writes none of the batch', () =>
      run(async (records) => {
        await records.appendBatch(DS, [{ recordId: 'r1', json: json(1) }], at(1));
        await expectMeshError(
          records.appendBatch(
            DS,
            [
              { recordId: 'r2', json: json(2) },
              { recordId: 'r1', json: json(3) },
            ],
            at(2),
          ),
          'ALREADY_EXISTS',
        );
        expect(await records.count(DS)).toBe(1);
        // The failed batch consumed no sequence numbers.
        expect(await records.appendBatch(DS, [{ recordId: 'r2', json: json(2) }], at(3))).toEqual({
          firstSequence: 2,
          lastSequence: 2,
        });
      }));

    it('refuses a recordId twice in one batch and writes nothing', () =>
      run(async (records) => {
        await expectMeshError(
          records.appendBatch(
            DS,
            [
              { recordId: 'x', json: json(1) },
              { recordId: 'x', json: json(2) },
            ],
            at(1),
          ),
          'ALREADY_EXISTS',
        );
        expect(await records.count(DS)).toBe(0);
      }));

    it('allows the same recordId in different datasets and records without ids', () =>
      run(async (records) => {
        await records.appendBatch(DS, [{ recordId: 'x', json: json(1) }, { json: json(2) }, { json: json(2) }], at(1));
        await records.appendBatch('other', [{ recordId: 'x', json: json(1) }], at(1));
        expect(await records.count(DS)).toBe(3);
      }));

    it.each([
      ['an empty batch', []],
      ['a record that is not JSON', [{ json: json(1) }, { json: '{pm25:' }]],
    ])('refuses %s and writes nothing', (_what, batch) =>
      run(async (records) => {
        await expectMeshError(records.appendBatch(DS, batch, at(1)), 'MALFORMED_REQUEST');
        expect(await records.count(DS)).toBe(0);
      }),
    );

    it('deletes a dataset without reusing its sequence numbers', () =>
      run(async (records) => {
        await records.appendBatch(DS, [{ recordId: 'r1', json: json(1) }, { json: json(2) }], at(1));
        await records.appendBatch('other', [{ json: json(1) }], at(1));
        expect(await records.deleteDataset(DS)).toBe(2);
        expect(await records.count(DS)).toBe(0);
        expect(await records.count('other')).toBe(1);
        expect(await records.appendBatch(DS, [{ recordId: 'r1', json: json(3) }], at(2))).toEqual({
          firstSequence: 3,
          lastSequence: 3,
        });
        expect(await records.deleteDataset('never')).toBe(0);
      }));

    it('pages by sequence: every record once, in order, whatever the batch and page sizes', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 12 }),
          fc.integer({ min: 1, max: 9 }),
          (batches, limit) =>
            run(async (records) => {
              let n = 0;
              for (const size of batches) {
                const got = await records.appendBatch(
                  DS,
                  Array.from({ length: size }, () => ({ json: json(++n) })),
                  at(n),
                );
                expect(got).toEqual({ firstSequence: n - size + 1, lastSequence: n });
              }
              const seen: number[] = [];
              let after: number | undefined = 0;
              while (after !== undefined) {
                const page = await records.page(DS, { afterSequence: after, limit });
                expect(page.items.length).toBeLessThanOrEqual(limit);
                seen.push(...page.items.map((r) => r.sequence));
                after = page.nextAfterSequence;
              }
              expect(seen).toEqual(Array.from({ length: n }, (_, i) => i + 1));
            }),
        ),
        { numRuns: 25 },
      );
    });

    it('starts a page after the given sequence', () =>
      run(async (records) => {
        await records.appendBatch(
          DS,
          [1, 2, 3, 4, 5].map((i) => ({ json: json(i) })),
          at(1),
        );
        const page = await records.page(DS, { afterSequence: 2, limit: 2 });
        expect(page.items.map((r) => r.sequence)).toEqual([3, 4]);
        expect(page.nextAfterSequence).toBe(4);
        expect((await records.page(DS, { afterSequence: 4, limit: 2 })).nextAfterSequence).toBeUndefined();
      }));
  });
}
