import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_POLICY_SET_BYTES,
  type PolicyActivation,
  type PolicyStore,
  type PolicyVersion,
} from '../../common/stores/policy-store.js';
import { hex64 } from './fixtures.js';
import { at, collectPages, expectMeshError, forgedTokens, type OpenStore, withStore } from './support.js';

export function aPolicyVersion(overrides: Partial<PolicyVersion> = {}): PolicyVersion {
  return {
    version: 'v1',
    digest: hex64(overrides.version ?? 'v1'),
    files: { 'model.conf': '[request_definition]\nr = sub, obj, act\n', 'sets/rules.csv': 'p, alice, ds, read\n' },
    createdAt: at(0),
    createdBy: 'spiffe://tianjin.jjj.citymesh/person/admin',
    comment: 'initial set',
    ...overrides,
  };
}

export function anActivation(overrides: Partial<PolicyActivation> = {}): PolicyActivation {
  return { version: 'v1', changedAt: at(10), changedBy: 'admin', rulesAdded: 1, rulesRemoved: 0, ...overrides };
}

/** Puts versions `ids` (all created at `at(0)` unless given). */
async function putAll(store: PolicyStore, ids: readonly string[]): Promise<void> {
  for (const version of ids) await store.putVersion(aPolicyVersion({ version }));
}

const badVersions: [string, Partial<PolicyVersion>][] = [
  ['version', { version: '' }],
  ['version', { version: 'a/b' }],
  ['version', { version: 'x'.repeat(65) }],
  ['version', { version: '..' }],
  ['digest', { digest: 'ABC' }],
  ['digest', { digest: hex64('x').toUpperCase() }],
  ['files', { files: {} }],
  ['files', { files: [] as unknown as Record<string, string> }],
  ['files["../escape.csv"]', { files: { '../escape.csv': '' } }],
  ['files["/etc/passwd"]', { files: { '/etc/passwd': '' } }],
  ['files["a//b"]', { files: { 'a//b': '' } }],
  ['files["./a"]', { files: { './a': '' } }],
  ['files["a\\\\b"]', { files: { 'a\\b': '' } }],
  ['files["model.conf"]', { files: { 'model.conf': 42 as unknown as string } }],
  ['files["model.conf"]', { files: { 'model.conf': 'half a pair: \ud800' } }],
  ['files', { files: { 'rules.csv': 'x'.repeat(MAX_POLICY_SET_BYTES) } }],
  ['createdAt', { createdAt: new Date(Number.NaN) }],
  ['createdBy', { createdBy: '' }],
  ['createdBy', { createdBy: 'x'.repeat(513) }],
  ['comment', { comment: 'x'.repeat(1001) }],
];

const badActivations: [string, Partial<PolicyActivation>][] = [
  ['version', { version: 'no spaces' }],
  ['changedAt', { changedAt: new Date(Number.NaN) }],
  ['changedBy', { changedBy: '' }],
  ['changedBy', { changedBy: 'x'.repeat(513) }],
  ['summary', { summary: 'x'.repeat(4001) }],
  ['rulesAdded', { rulesAdded: -1 }],
  ['rulesRemoved', { rulesRemoved: 1.5 }],
];

/**
 * Runs the {@link PolicyStore} contract against one implementation. `durable`, for one that
 * persists, gives an opener bound to one fresh database that can be called again to reopen it.
 */
export function describePolicyStoreCompliance(
  name: string,
  open: OpenStore<PolicyStore>,
  durable?: () => OpenStore<PolicyStore>,
): void {
  describe(`PolicyStore compliance: ${name}`, () => {
    const run = <R>(body: (store: PolicyStore) => Promise<R>) => withStore(open, body);

    it('stores a version exactly, and hands out copies', () =>
      run(async (policies) => {
        const input = aPolicyVersion({ files: { ...aPolicyVersion().files } });
        await policies.putVersion(input);
        (input.files as Record<string, string>)['model.conf'] = 'tampered';
        const got = await policies.getVersion('v1');
        expect(got).toEqual(aPolicyVersion());
        (got?.files as Record<string, string>)['model.conf'] = 'tampered';
        expect(await policies.getVersion('v1')).toEqual(aPolicyVersion());
        expect(await policies.getVersion('v2')).toBeUndefined();
        const bare = aPolicyVersion({ version: 'v2', comment: undefined, files: { 'm.conf': '' } });
        await policies.putVersion(bare);
        expect(await policies.getVersion('v2')).toEqual(bare);
        expect(await policies.getVersion('v2')).not.toHaveProperty('comment');
      }));

    it('accepts a set of exactly the size limit', () =>
      run(async (policies) => {
        const files = { 'rules.csv': 'x'.repeat(MAX_POLICY_SET_BYTES - 'rules.csv'.length) };
        await policies.putVersion(aPolicyVersion({ files }));
        expect((await policies.getVersion('v1'))?.files).toEqual(files);
      }));

    it('treats a repeated identical put as a no-op and refuses different content under the same id', () =>
      run(async (policies) => {
        await policies.putVersion(aPolicyVersion());
        await policies.putVersion(aPolicyVersion());
        for (const changed of [
          { digest: hex64('other') },
          { files: { 'model.conf': 'other' } },
          { comment: 'other' },
          { createdAt: at(1) },
        ]) {
          const err = await expectMeshError(policies.putVersion(aPolicyVersion(changed)), 'ALREADY_EXISTS');
          expect(err.details).toMatchObject({ version: 'v1' });
        }
        expect(await policies.getVersion('v1')).toEqual(aPolicyVersion());
        expect((await policies.listVersions()).items).toHaveLength(1);
      }));

    it('lists summaries newest first, ties by version, marking the one in force', () =>
      run(async (policies) => {
        for (const [version, s] of Object.entries({ a: 5, b: 9, c: 5, d: 1 })) {
          await policies.putVersion(aPolicyVersion({ version, createdAt: at(s) }));
        }
        await policies.activate(anActivation({ version: 'c' }), undefined);
        const { items, nextPageToken } = await policies.listVersions();
        expect(items.map((v) => (v.active ? `${v.version}*` : v.version))).toEqual(['b', 'c*', 'a', 'd']);
        expect(nextPageToken).toBeUndefined();
        const { files: _files, ...summary } = aPolicyVersion({ version: 'c', createdAt: at(5) });
        expect(items[1]).toEqual({ ...summary, active: true });
      }));

    it('pages through every version exactly once, in order', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.record({ version: fc.stringMatching(/^[a-z0-9]{1,6}$/), s: fc.nat(5) }), {
            selector: (v) => v.version,
            maxLength: 30,
          }),
          fc.integer({ min: 1, max: 7 }),
          (specs, pageSize) =>
            run(async (policies) => {
              for (const { version, s } of specs)
                await policies.putVersion(aPolicyVersion({ version, createdAt: at(s) }));
              const seen = (await collectPages((page) => policies.listVersions(page), pageSize)).flat();
              const expected = [...specs].sort((x, y) => y.s - x.s || (x.version < y.version ? 1 : -1));
              expect(seen.map((v) => v.version)).toEqual(expected.map((v) => v.version));
            }),
        ),
        { numRuns: 25 },
      );
    });

    it('refuses version page tokens for other queries, and forged ones', () =>
      run(async (policies) => {
        await putAll(policies, ['a', 'b', 'c']);
        const token = (await policies.listVersions({ pageSize: 1 })).nextPageToken as string;
        expect(token).toBeDefined();
        await expectMeshError(policies.changes(at(0), { pageToken: token }), 'INVALID_PAGE_TOKEN');
        for (const forged of forgedTokens(token))
          await expectMeshError(policies.listVersions({ pageToken: forged }), 'INVALID_PAGE_TOKEN');
        await expectMeshError(policies.listVersions({ pageSize: -1 }), 'MALFORMED_REQUEST');
      }));

    it('chains activations, each naming the version it replaced, re-activations included', () =>
      run(async (policies) => {
        await putAll(policies, ['v1', 'v2']);
        expect(await policies.active()).toBeUndefined();
        const first = await policies.activate(anActivation({ summary: 'first' }), undefined);
        expect(first).toEqual({ sequence: 1, ...anActivation({ summary: 'first' }) });
        const second = await policies.activate(anActivation({ version: 'v2', changedAt: at(20) }), 'v1');
        expect(second).toMatchObject({ sequence: 2, version: 'v2', previousVersion: 'v1' });
        const rollback = await policies.activate(anActivation({ changedAt: at(30), rulesRemoved: 1 }), 'v2');
        expect(rollback).toMatchObject({ sequence: 3, version: 'v1', previousVersion: 'v2', rulesRemoved: 1 });
        const again = await policies.activate(anActivation({ changedAt: at(40) }), 'v1');
        expect(again).toMatchObject({ sequence: 4, version: 'v1', previousVersion: 'v1' });
        expect(await policies.active()).toEqual(again);
        expect((await policies.changes(at(0))).items).toEqual([first, second, rollback, again]);
      }));

    it('refuses a stale expectedActive with VERSION_CONFLICT and changes nothing', () =>
      run(async (policies) => {
        await putAll(policies, ['v1', 'v2', 'v3']);
        await expectMeshError(policies.activate(anActivation(), 'v2'), 'VERSION_CONFLICT');
        expect(await policies.active()).toBeUndefined();
        const first = await policies.activate(anActivation(), undefined);
        await policies.activate(anActivation({ version: 'v2' }), 'v1');
        const err = await expectMeshError(policies.activate(anActivation({ version: 'v3' }), 'v1'), 'VERSION_CONFLICT');
        expect(err.details).toMatchObject({ expectedActive: 'v1', actualActive: 'v2' });
        await expectMeshError(policies.activate(anActivation({ version: 'v3' }), undefined), 'VERSION_CONFLICT');
        expect(await policies.active()).toMatchObject({ sequence: 2, version: 'v2' });
        expect((await policies.changes(at(0))).items.map((c) => c.sequence)).toEqual([first.sequence, 2]);
      }));

    it('lets exactly one of two concurrent activations from the same state win', () =>
      run(async (policies) => {
        await putAll(policies, ['v1', 'v2']);
        const results = await Promise.allSettled(
          ['v1', 'v2'].map((version) => policies.activate(anActivation({ version }), undefined)),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect((await policies.active())?.sequence).toBe(1);
      }));

    it('refuses to activate an unknown version with POLICY_VERSION_NOT_FOUND', () =>
      run(async (policies) => {
        const err = await expectMeshError(policies.activate(anActivation(), undefined), 'POLICY_VERSION_NOT_FOUND');
        expect(err.details).toEqual({ version: 'v1' });
        expect(await policies.active()).toBeUndefined();
      }));

    it('lists changes since a time, oldest first, with tokens bound to the time', () =>
      run(async (policies) => {
        await putAll(policies, ['v1', 'v2', 'v3']);
        let expected: string | undefined;
        for (const [version, s] of [
          ['v1', 10],
          ['v2', 20],
          ['v3', 30],
        ] as const) {
          await policies.activate(anActivation({ version, changedAt: at(s) }), expected);
          expected = version;
        }
        const versions = async (since: Date, size?: number) =>
          (await collectPages((page) => policies.changes(since, page), size)).flat().map((c) => c.version);
        expect(await versions(at(20))).toEqual(['v2', 'v3']);
        expect(await versions(at(0), 1)).toEqual(['v1', 'v2', 'v3']);
        expect(await versions(at(31))).toEqual([]);
        const token = (await policies.changes(at(0), { pageSize: 1 })).nextPageToken as string;
        await expectMeshError(policies.changes(at(1), { pageToken: token }), 'INVALID_PAGE_TOKEN');
        await expectMeshError(policies.listVersions({ pageToken: token }), 'INVALID_PAGE_TOKEN');
        for (const forged of forgedTokens(token))
          await expectMeshError(policies.changes(at(0), { pageToken: forged }), 'INVALID_PAGE_TOKEN');
      }));

    it.each(badVersions)('refuses a version with a bad %s, naming the field', (field, overrides) =>
      run(async (policies) => {
        const err = await expectMeshError(policies.putVersion(aPolicyVersion(overrides)), 'MALFORMED_REQUEST');
        expect(err.details.field).toBe(field);
        expect(err.message).toContain(field);
      }),
    );

    it.each(badActivations)('refuses an activation with a bad %s, naming the field', (field, overrides) =>
      run(async (policies) => {
        await policies.putVersion(aPolicyVersion());
        const err = await expectMeshError(policies.activate(anActivation(overrides), undefined), 'MALFORMED_REQUEST');
        expect(err.details.field).toBe(field);
        expect(await policies.active()).toBeUndefined();
      }),
    );

    it('refuses a bad expectedActive, version id or since time, naming the field', () =>
      run(async (policies) => {
        const fields = async (...actions: Promise<unknown>[]) => {
          const out: unknown[] = [];
          for (const action of actions) out.push((await expectMeshError(action, 'MALFORMED_REQUEST')).details.field);
          return out;
        };
        expect(
          await fields(
            policies.activate(anActivation(), 'not/an/id'),
            policies.getVersion(''),
            policies.changes(new Date(Number.NaN)),
          ),
        ).toEqual(['expectedActive', 'version', 'since']);
      }));

    if (durable !== undefined) {
      it('keeps versions, changes and page tokens across a close and reopen', async () => {
        const reopen = durable();
        const token = await withStore(reopen, async (policies) => {
          await putAll(policies, ['v1', 'v2']);
          await policies.activate(anActivation(), undefined);
          return (await policies.listVersions({ pageSize: 1 })).nextPageToken;
        });
        await withStore(reopen, async (policies) => {
          expect(await policies.getVersion('v1')).toEqual(aPolicyVersion());
          expect(await policies.active()).toEqual({ sequence: 1, ...anActivation() });
          expect((await policies.listVersions({ pageToken: token })).items.map((v) => v.version)).toEqual(['v1']);
          await expectMeshError(policies.activate(anActivation({ version: 'v2' }), undefined), 'VERSION_CONFLICT');
          expect(await policies.activate(anActivation({ version: 'v2' }), 'v1')).toMatchObject({ sequence: 2 });
        });
      });

      it('lets one of two connections win a race for the same expected version', async () => {
        const reopen = durable();
        const [a, b] = [await reopen(), await reopen()];
        try {
          await putAll(a.store, ['v1', 'v2']);
          await a.store.activate(anActivation(), undefined);
          await b.store.activate(anActivation({ version: 'v2' }), 'v1');
          await expectMeshError(a.store.activate(anActivation({ version: 'v1' }), 'v1'), 'VERSION_CONFLICT');
          expect(await a.store.active()).toMatchObject({ sequence: 2, version: 'v2', previousVersion: 'v1' });
        } finally {
          await a.close();
          await b.close();
        }
      });
    }
  });
}
