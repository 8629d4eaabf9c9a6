import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CatalogEntry, CatalogFilter, CatalogStore, Classification } from '../../common/stores/catalog-store.js';
import { anEntry } from './fixtures.js';
import { at, collectPages, expectMeshError, forgedTokens, type OpenStore, withStore } from './support.js';

/** Runs the {@link CatalogStore} contract against one implementation. */
export function describeCatalogStoreCompliance(name: string, open: OpenStore<CatalogStore>): void {
  describe(`CatalogStore compliance: ${name}`, () => {
    const run = <R>(body: (store: CatalogStore) => Promise<R>) => withStore(open, body);

    it('reads back a published version field for field', () =>
      run(async (catalog) => {
        const entry = anEntry({ requiresAgreement: true, classification: 'sensitive' });
        await catalog.put(entry);
        expect(await catalog.get(entry.id, '1.0.0')).toEqual(entry);
        expect(await catalog.get(entry.id)).toEqual(entry);
      }));

    it('treats republishing an identical version as a no-op, whatever the key order of its schema', () =>
      run(async (catalog) => {
        await catalog.put(anEntry());
        await catalog.put(
          anEntry({ schema: { required: ['pm25'], properties: { pm25: { type: 'number' } }, type: 'object' } }),
        );
        expect((await catalog.list({})).items).toHaveLength(1);
      }));

    it('refuses to change a published version', () =>
      run(async (catalog) => {
        await catalog.put(anEntry());
        await expectMeshError(catalog.put(anEntry({ title: 'Something else' })), 'ALREADY_EXISTS');
        await expectMeshError(catalog.put(anEntry({ schema: { type: 'array' } })), 'ALREADY_EXISTS');
        expect((await catalog.get(anEntry().id))?.title).toBe('Air quality readings');
      }));

    it('returns the highest version by semver, not by string order', () =>
      run(async (catalog) => {
        for (const version of ['1.2.0', '1.10.0', '1.9.3', '0.99.99']) await catalog.put(anEntry({ version }));
        expect((await catalog.get(anEntry().id))?.version).toBe('1.10.0');
        expect((await catalog.list({})).items.map((e) => e.version)).toEqual(['0.99.99', '1.2.0', '1.9.3', '1.10.0']);
      }));

    it('skips withdrawn versions for the latest, but still serves them by version', () =>
      run(async (catalog) => {
        const id = anEntry().id;
        for (const version of ['1.0.0', '2.0.0']) await catalog.put(anEntry({ version }));
        expect(await catalog.withdraw(id, at(50), '2.0.0')).toBe(1);
        expect((await catalog.get(id))?.version).toBe('1.0.0');
        expect(await catalog.get(id, '2.0.0')).toMatchObject({ version: '2.0.0', withdrawnAt: at(50) });
      }));

    it('withdraws every version of an id and keeps the first withdrawal time', () =>
      run(async (catalog) => {
        const id = anEntry().id;
        for (const version of ['1.0.0', '1.1.0', '2.0.0']) await catalog.put(anEntry({ version }));
        expect(await catalog.withdraw(id, at(10), '1.1.0')).toBe(1);
        expect(await catalog.withdraw(id, at(20))).toBe(2);
        expect(await catalog.withdraw(id, at(30))).toBe(0);
        expect(await catalog.get(id)).toBeUndefined();
        expect((await catalog.get(id, '1.1.0'))?.withdrawnAt).toEqual(at(10));
        expect((await catalog.get(id, '2.0.0'))?.withdrawnAt).toEqual(at(20));
        expect((await catalog.list({})).items).toEqual([]);
        expect((await catalog.list({ includeWithdrawn: true })).items).toHaveLength(3);
      }));

    it('fails with DATASET_NOT_FOUND when withdrawing what was never published', () =>
      run(async (catalog) => {
        await catalog.put(anEntry());
        await expectMeshError(catalog.withdraw('jjj/tianjin/x/none', at(1)), 'DATASET_NOT_FOUND');
        await expectMeshError(catalog.withdraw(anEntry().id, at(1), '9.9.9'), 'DATASET_NOT_FOUND');
      }));

    it('returns undefined for an unknown id or version', () =>
      run(async (catalog) => {
        await catalog.put(anEntry());
        expect(await catalog.get('jjj/tianjin/x/none')).toBeUndefined();
        expect(await catalog.get(anEntry().id, '3.0.0')).toBeUndefined();
      }));

    it.each(['1.2', 'v1.2.0', '01.2.0', '1.2.0-beta.1', '1.2.0+build', ''])('refuses the version %j', (version) =>
      run(async (catalog) => {
        await expectMeshError(catalog.put(anEntry({ version })), 'MALFORMED_REQUEST');
      }),
    );

    describe('list', () => {
      const entries: CatalogEntry[] = [
        anEntry({ id: 'jjj/tianjin/eco/air', title: 'Air Quality', description: 'PM2.5 hourly' }),
        anEntry({
          id: 'jjj/tianjin/eco/water',
          title: 'Water levels',
          description: 'Haihe river gauges',
          classification: 'internal',
          regionCode: '120101',
          level: 'district',
        }),
        anEntry({
          id: 'jjj/tianjin/traffic/flow',
          kind: 'capability',
          title: 'Route planner',
          description: 'Computes ÉTA for buses',
          industry: 'transport',
        }),
        anEntry({
          id: 'jjj/beijing/health/beds',
          title: '医院床位',
          description: 'Hospital beds 100% real-time',
          city: 'beijing',
          industry: 'health',
          regionCode: '110000',
          classification: 'sensitive',
        }),
        anEntry({
          id: 'jjj/beijing/health/old',
          title: 'Old beds',
          description: 'withdrawn',
          city: 'beijing',
          industry: 'health',
          regionCode: '110105',
          level: 'district',
        }),
      ];
      const ids = (page: { items: readonly CatalogEntry[] }) => page.items.map((e) => e.id);

      it.each<[string, CatalogFilter, string[]]>([
        ['a kind', { kind: 'capability' }, ['jjj/tianjin/traffic/flow']],
        ['a city', { city: 'beijing' }, ['jjj/beijing/health/beds']],
        ['an industry', { industry: 'environment' }, ['jjj/tianjin/eco/air', 'jjj/tianjin/eco/water']],
        ['a classification', { classification: 'internal' }, ['jjj/tianjin/eco/water']],
        ['a region prefix', { regionPrefix: '1201' }, ['jjj/tianjin/eco/water']],
        ['title text, case-insensitively', { text: 'air QUALITY' }, ['jjj/tianjin/eco/air']],
        ['description text', { text: 'river' }, ['jjj/tianjin/eco/water']],
        ['non-ASCII text, case-insensitively', { text: 'éta' }, ['jjj/tianjin/traffic/flow']],
        ['Chinese text', { text: '床位' }, ['jjj/beijing/health/beds']],
        ['SQL wildcards literally', { text: '100%' }, ['jjj/beijing/health/beds']],
        ['an underscore literally', { text: 'pm2_5' }, []],
        [
          'withdrawn entries on request',
          { city: 'beijing', includeWithdrawn: true },
          ['jjj/beijing/health/beds', 'jjj/beijing/health/old'],
        ],
        [
          'several fields together',
          { city: 'tianjin', industry: 'environment', text: 'water' },
          ['jjj/tianjin/eco/water'],
        ],
      ])('filters by %s', (_what, filter, expected) =>
        run(async (catalog) => {
          for (const entry of entries) await catalog.put(entry);
          await catalog.withdraw('jjj/beijing/health/old', at(5));
          expect(ids(await catalog.list(filter))).toEqual(expected);
        }),
      );

      it('pages through every matching version exactly once, whatever the page size', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.uniqueArray(
              fc.record({
                name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
                version: fc.tuple(fc.nat(12), fc.nat(12), fc.nat(3)).map((v) => v.join('.')),
                classification: fc.constantFrom<Classification>('public', 'internal'),
              }),
              { selector: (s) => `${s.name}@${s.version}`, maxLength: 40 },
            ),
            fc.integer({ min: 1, max: 10 }),
            fc.option(fc.constantFrom<Classification>('public', 'internal'), { nil: undefined }),
            (specs, pageSize, classification) =>
              run(async (catalog) => {
                for (const s of specs)
                  await catalog.put(
                    anEntry({ id: `jjj/tianjin/org/${s.name}`, version: s.version, classification: s.classification }),
                  );
                const filter = classification === undefined ? {} : { classification };
                const pages = await collectPages((page) => catalog.list(filter, page), pageSize);
                const seen = pages.flat().map((e) => `${e.id}@${e.version}`);
                const expected = specs
                  .filter((s) => classification === undefined || s.classification === classification)
                  .map((s) => `jjj/tianjin/org/${s.name}@${s.version}`);
                expect(new Set(seen).size).toBe(seen.length);
                expect([...seen].sort()).toEqual([...expected].sort());
                for (const page of pages.slice(0, -1)) expect(page).toHaveLength(pageSize);
              }),
          ),
          { numRuns: 25 },
        );
      });

      it('refuses a page token issued for another query, or a forged one', () =>
        run(async (catalog) => {
          for (const entry of entries) await catalog.put(entry);
          const token = (await catalog.list({ city: 'tianjin' }, { pageSize: 1 })).nextPageToken as string;
          expect(token).toBeDefined();
          await expectMeshError(catalog.list({ city: 'beijing' }, { pageToken: token }), 'INVALID_PAGE_TOKEN');
          await expectMeshError(
            catalog.list({ city: 'tianjin', text: 'air' }, { pageToken: token }),
            'INVALID_PAGE_TOKEN',
          );
          await expectMeshError(
            catalog.list({ city: 'tianjin', includeWithdrawn: true }, { pageToken: token }),
            'INVALID_PAGE_TOKEN',
          );
          for (const forged of forgedTokens(token))
            await expectMeshError(catalog.list({ city: 'tianjin' }, { pageToken: forged }), 'INVALID_PAGE_TOKEN');
          expect(
            ids(await catalog.list({ city: 'tianjin', includeWithdrawn: false }, { pageToken: token })),
          ).toHaveLength(2);
        }));
    });
  });
}
