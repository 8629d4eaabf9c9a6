import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KeyPurpose, KeyStatus, KeyStore } from '../../common/stores/key-store.js';
import { aKey } from './fixtures.js';
import { at, collectPages, expectMeshError, forgedTokens, type OpenStore, withStore } from './support.js';

const PURPOSES: KeyPurpose[] = ['federation', 'ca', 'tls', 'oidc', 'audit', 'receipt', 'device-ca'];

/** Runs the {@link KeyStore} contract against one implementation. */
export function describeKeyStoreCompliance(name: string, open: OpenStore<KeyStore>): void {
  describe(`KeyStore compliance: ${name}`, () => {
    const run = <R>(body: (store: KeyStore) => Promise<R>) => withStore(open, body);

    it('reads back a stored key field for field', () =>
      run(async (keys) => {
        const key = aKey({ certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' });
        await keys.put(key);
        expect(await keys.get(key.kid)).toEqual(key);
      }));

    it('keeps a public-only key without a private key', () =>
      run(async (keys) => {
        const { privateKeyPem: _omit, ...publicOnly } = aKey({ kid: 'peer-key' });
        await keys.put(publicOnly);
        const stored = await keys.get('peer-key');
        expect(stored).toEqual(publicOnly);
        expect(stored).not.toHaveProperty('privateKeyPem');
      }));

    it('returns undefined for an unknown kid', () =>
      run(async (keys) => expect(await keys.get('nope')).toBeUndefined()));

    it('treats putting an identical key again as a no-op', () =>
      run(async (keys) => {
        await keys.put(aKey());
        await keys.put(aKey());
        expect((await keys.list({})).items).toHaveLength(1);
      }));

    it('refuses a different key under an existing kid and keeps the original', () =>
      run(async (keys) => {
        await keys.put(aKey());
        await expectMeshError(keys.put(aKey({ alg: 'EdDSA' })), 'ALREADY_EXISTS');
        expect((await keys.get('key-1'))?.alg).toBe('ES256');
      }));

    it('does not let a caller change stored state by mutating a returned key', () =>
      run(async (keys) => {
        await keys.put(aKey());
        const first = await keys.get('key-1');
        first?.createdAt.setTime(0);
        expect((await keys.get('key-1'))?.createdAt).toEqual(at(0));
      }));

    it('rolls a key over: next → active → retired, stamping each step', () =>
      run(async (keys) => {
        await keys.put(aKey());
        const active = await keys.setStatus('key-1', 'active', at(10));
        expect(active).toMatchObject({ status: 'active', activatedAt: at(10) });
        const retired = await keys.setStatus('key-1', 'retired', at(20));
        expect(retired).toMatchObject({ status: 'retired', activatedAt: at(10), retiredAt: at(20) });
        expect(await keys.get('key-1')).toEqual(retired);
      }));

    it.each<KeyStatus>(['next', 'active', 'retired'])('revokes a %s key', (from) =>
      run(async (keys) => {
        await keys.put(aKey({ status: from }));
        expect(await keys.setStatus('key-1', 'revoked', at(30))).toMatchObject({
          status: 'revoked',
          revokedAt: at(30),
        });
      }),
    );

    it('treats revoking a revoked key as a no-op that keeps the first revocation time', () =>
      run(async (keys) => {
        await keys.put(aKey());
        await keys.setStatus('key-1', 'revoked', at(30));
        expect(await keys.setStatus('key-1', 'revoked', at(40))).toMatchObject({ revokedAt: at(30) });
      }));

    it.each<[KeyStatus, KeyStatus]>([
      ['next', 'retired'],
      ['next', 'next'],
      ['active', 'next'],
      ['active', 'active'],
      ['retired', 'active'],
      ['retired', 'next'],
      ['revoked', 'active'],
      ['revoked', 'next'],
      ['revoked', 'retired'],
    ])('refuses the transition %s → %s, naming it, and changes nothing', (from, to) =>
      run(async (keys) => {
        await keys.put(aKey({ status: from }));
        const err = await expectMeshError(keys.setStatus('key-1', to, at(50)), 'MALFORMED_REQUEST');
        expect(err.message).toContain(`${from} → ${to}`);
        expect((await keys.get('key-1'))?.status).toBe(from);
      }),
    );

    it('fails with KEY_NOT_FOUND when changing an unknown key', () =>
      run(async (keys) => {
        await expectMeshError(keys.setStatus('nope', 'active', at(1)), 'KEY_NOT_FOUND');
      }));

    it('refuses a key with an unknown purpose', () =>
      run(async (keys) => {
        await expectMeshError(keys.put(aKey({ purpose: 'signing' as KeyPurpose })), 'MALFORMED_REQUEST');
      }));

    it('lists keys by purpose and status', () =>
      run(async (keys) => {
        await keys.put(aKey({ kid: 'a', purpose: 'oidc', status: 'active' }));
        await keys.put(aKey({ kid: 'b', purpose: 'oidc', status: 'next' }));
        await keys.put(aKey({ kid: 'c', purpose: 'audit', status: 'active' }));
        const kids = async (filter: Parameters<KeyStore['list']>[0]) =>
          (await keys.list(filter)).items.map((k) => k.kid);
        expect(await kids({})).toEqual(['a', 'b', 'c']);
        expect(await kids({ purpose: 'oidc' })).toEqual(['a', 'b']);
        expect(await kids({ status: 'active' })).toEqual(['a', 'c']);
        expect(await kids({ purpose: 'oidc', status: 'next' })).toEqual(['b']);
      }));

    it('pages through every matching key exactly once, whatever the page size', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(
            fc.record({ kid: fc.string({ minLength: 1, maxLength: 8 }), purpose: fc.constantFrom(...PURPOSES) }),
            {
              selector: (k) => k.kid,
              maxLength: 40,
            },
          ),
          fc.integer({ min: 1, max: 12 }),
          fc.option(fc.constantFrom(...PURPOSES), { nil: undefined }),
          (specs, pageSize, purpose) =>
            run(async (keys) => {
              for (const spec of specs) await keys.put(aKey(spec));
              const filter = purpose === undefined ? {} : { purpose };
              const pages = await collectPages((page) => keys.list(filter, page), pageSize);
              const seen = pages.flat().map((k) => k.kid);
              const expected = specs.filter((s) => purpose === undefined || s.purpose === purpose).map((s) => s.kid);
              expect(new Set(seen).size).toBe(seen.length);
              expect([...seen].sort()).toEqual([...expected].sort());
              for (const page of pages.slice(0, -1)) expect(page).toHaveLength(pageSize);
            }),
        ),
        { numRuns: 25 },
      );
    });

    it('refuses a page token issued for another query, or a forged one', () =>
      run(async (keys) => {
        for (const kid of ['a', 'b', 'c']) await keys.put(aKey({ kid, purpose: 'oidc' }));
        const first = await keys.list({ purpose: 'oidc' }, { pageSize: 1 });
        const token = first.nextPageToken as string;
        expect(token).toBeDefined();
        await expectMeshError(keys.list({ purpose: 'audit' }, { pageToken: token }), 'INVALID_PAGE_TOKEN');
        await expectMeshError(keys.list({}, { pageToken: token }), 'INVALID_PAGE_TOKEN');
        for (const forged of forgedTokens(token)) {
          await expectMeshError(keys.list({ purpose: 'oidc' }, { pageToken: forged }), 'INVALID_PAGE_TOKEN');
        }
        expect((await keys.list({ purpose: 'oidc' }, { pageToken: token })).items.map((k) => k.kid)).toEqual([
          'b',
          'c',
        ]);
      }));

    it('refuses a negative page size', () =>
      run(async (keys) => {
        await expectMeshError(keys.list({}, { pageSize: -1 }), 'MALFORMED_REQUEST');
      }));
  });
}
