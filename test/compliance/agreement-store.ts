import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgreementFilter, AgreementState, AgreementStore } from '../../common/stores/agreement-store.js';
import { aNewAgreement } from './fixtures.js';
import { at, collectPages, expectMeshError, forgedTokens, type OpenStore, withStore } from './support.js';

/** Runs the {@link AgreementStore} contract against one implementation. */
export function describeAgreementStoreCompliance(name: string, open: OpenStore<AgreementStore>): void {
  describe(`AgreementStore compliance: ${name}`, () => {
    const run = <R>(body: (store: AgreementStore) => Promise<R>) => withStore(open, body);

    it('creates an agreement at version 1 with no history', () =>
      run(async (agreements) => {
        const created = await agreements.create(aNewAgreement({ expiresAt: at(1000) }));
        expect(created).toEqual({
          ...aNewAgreement({ expiresAt: at(1000) }),
          version: 1,
          updatedAt: at(0),
          history: [],
        });
        expect(await agreements.get('agr-1')).toEqual(created);
        expect(await agreements.get('nope')).toBeUndefined();
      }));

    it('returns the stored agreement when an identical create is retried', () =>
      run(async (agreements) => {
        const created = await agreements.create(aNewAgreement());
        expect(await agreements.create(aNewAgreement())).toEqual(created);
      }));

    it('refuses a different agreement under an existing id, and a create retried after a transition', () =>
      run(async (agreements) => {
        await agreements.create(aNewAgreement());
        await expectMeshError(agreements.create(aNewAgreement({ purpose: 'marketing' })), 'ALREADY_EXISTS');
        await agreements.transition('agr-1', { expectedVersion: 1, to: 'OFFERED', at: at(1), actor: 'tianjin' });
        await expectMeshError(agreements.create(aNewAgreement()), 'ALREADY_EXISTS');
      }));

    it('moves through transitions, bumping the version and recording history', () =>
      run(async (agreements) => {
        await agreements.create(aNewAgreement());
        const offered = await agreements.transition('agr-1', {
          expectedVersion: 1,
          to: 'OFFERED',
          at: at(10),
          actor: 'tianjin-node',
          expiresAt: at(900),
        });
        expect(offered).toMatchObject({ state: 'OFFERED', version: 2, updatedAt: at(10), expiresAt: at(900) });
        const agreed = await agreements.transition('agr-1', {
          expectedVersion: 2,
          to: 'AGREED',
          at: at(20),
          actor: 'beijing-node',
          reason: 'accepted offer',
        });
        expect(agreed.history).toEqual([
          { from: 'REQUESTED', to: 'OFFERED', at: at(10), actor: 'tianjin-node' },
          { from: 'OFFERED', to: 'AGREED', at: at(20), actor: 'beijing-node', reason: 'accepted offer' },
        ]);
        expect(await agreements.get('agr-1')).toEqual(agreed);
      }));

    it('refuses a stale expected version with VERSION_CONFLICT and changes nothing', () =>
      run(async (agreements) => {
        await agreements.create(aNewAgreement());
        await agreements.transition('agr-1', { expectedVersion: 1, to: 'OFFERED', at: at(10), actor: 'a' });
        const err = await expectMeshError(
          agreements.transition('agr-1', { expectedVersion: 1, to: 'TERMINATED', at: at(11), actor: 'b' }),
          'VERSION_CONFLICT',
        );
        expect(err.details).toMatchObject({ expectedVersion: 1, actualVersion: 2 });
        expect(await agreements.get('agr-1')).toMatchObject({ state: 'OFFERED', version: 2 });
      }));

    it('lets exactly one of two concurrent transitions from the same version win', () =>
      run(async (agreements) => {
        await agreements.create(aNewAgreement());
        const results = await Promise.allSettled(
          (['AGREED', 'TERMINATED'] as const).map((to) =>
            agreements.transition('agr-1', { expectedVersion: 1, to, at: at(5), actor: to }),
          ),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect((await agreements.get('agr-1'))?.version).toBe(2);
      }));

    it('fails with AGREEMENT_NOT_FOUND for an unknown id', () =>
      run(async (agreements) => {
        await expectMeshError(
          agreements.transition('nope', { expectedVersion: 1, to: 'OFFERED', at: at(1), actor: 'a' }),
          'AGREEMENT_NOT_FOUND',
        );
      }));

    it('refuses an unknown state', () =>
      run(async (agreements) => {
        await agreements.create(aNewAgreement());
        await expectMeshError(
          agreements.transition('agr-1', { expectedVersion: 1, to: 'DONE' as AgreementState, at: at(1), actor: 'a' }),
          'MALFORMED_REQUEST',
        );
      }));

    it.each<[string, AgreementFilter, string[]]>([
      ['dataset', { datasetId: 'ds-b' }, ['a2']],
      ['consumer city', { consumerCity: 'shijiazhuang' }, ['a3']],
      ['state', { state: 'OFFERED' }, ['a1']],
      ['nothing', {}, ['a1', 'a2', 'a3']],
    ])('lists agreements by %s', (_what, filter, expected) =>
      run(async (agreements) => {
        await agreements.create(aNewAgreement({ id: 'a1', datasetId: 'ds-a' }));
        await agreements.create(aNewAgreement({ id: 'a2', datasetId: 'ds-b' }));
        await agreements.create(aNewAgreement({ id: 'a3', datasetId: 'ds-a', consumerCity: 'shijiazhuang' }));
        await agreements.transition('a1', { expectedVersion: 1, to: 'OFFERED', at: at(1), actor: 'x' });
        expect((await agreements.list(filter)).items.map((a) => a.id)).toEqual(expected);
      }),
    );

    it('pages through every matching agreement exactly once', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(
            fc.record({ id: fc.stringMatching(/^[a-z0-9]{1,6}$/), datasetId: fc.constantFrom('ds-a', 'ds-b') }),
            { selector: (s) => s.id, maxLength: 40 },
          ),
          fc.integer({ min: 1, max: 10 }),
          fc.option(fc.constantFrom('ds-a', 'ds-b'), { nil: undefined }),
          (specs, pageSize, datasetId) =>
            run(async (agreements) => {
              for (const s of specs) await agreements.create(aNewAgreement(s));
              const filter = datasetId === undefined ? {} : { datasetId };
              const seen = (await collectPages((page) => agreements.list(filter, page), pageSize))
                .flat()
                .map((a) => a.id);
              expect(new Set(seen).size).toBe(seen.length);
              expect([...seen].sort()).toEqual(
                specs
                  .filter((s) => datasetId === undefined || s.datasetId === datasetId)
                  .map((s) => s.id)
                  .sort(),
              );
            }),
        ),
        { numRuns: 25 },
      );
    });

    it('refuses a page token issued for another query, or a forged one', () =>
      run(async (agreements) => {
        for (const id of ['a', 'b', 'c']) await agreements.create(aNewAgreement({ id }));
        const token = (await agreements.list({ consumerCity: 'beijing' }, { pageSize: 1 })).nextPageToken as string;
        expect(token).toBeDefined();
        await expectMeshError(agreements.list({ consumerCity: 'tianjin' }, { pageToken: token }), 'INVALID_PAGE_TOKEN');
        await expectMeshError(agreements.list({}, { pageToken: token }), 'INVALID_PAGE_TOKEN');
        for (const forged of forgedTokens(token))
          await expectMeshError(
            agreements.list({ consumerCity: 'beijing' }, { pageToken: forged }),
            'INVALID_PAGE_TOKEN',
          );
      }));
  });
}
