import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  Device,
  DeviceFilter,
  DeviceStatus,
  DeviceStore,
  ImportProgress,
} from '../../common/stores/device-store.js';
import { DevicePacker } from '../../common/stores/packed-devices.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../common/stores/paging.js';
import { aCredential, aDevice, hex64 } from './fixtures.js';
import { at, collectPages, expectMeshError, forgedTokens, type OpenStore, withStore } from './support.js';

function devices(count: number, overrides: (i: number) => Partial<Device> = () => ({})): Device[] {
  return Array.from({ length: count }, (_, i) =>
    aDevice({ deviceId: `dev-${String(i).padStart(5, '0')}`, ...overrides(i) }),
  );
}

function packed(batch: readonly Device[]) {
  const packer = new DevicePacker('tianjin');
  for (const device of batch) packer.add(device);
  return packer.take();
}

function progress(overrides: Partial<ImportProgress> = {}): ImportProgress {
  return {
    jobId: 'job-1',
    source: 'manifest.ndjson',
    sourceSha256: hex64('manifest'),
    lines: 0,
    rejected: 0,
    at: at(100),
    ...overrides,
  };
}

/** Runs the {@link DeviceStore} contract against one implementation. */
export function describeDeviceStoreCompliance(name: string, open: OpenStore<DeviceStore>): void {
  describe(`DeviceStore compliance: ${name}`, () => {
    const run = <R>(body: (store: DeviceStore) => Promise<R>) => withStore(open, body);

    describe('importBatch', () => {
      it('inserts absent devices and reads them back field for field', () =>
        run(async (store) => {
          const batch = devices(3);
          expect(await store.importBatch(batch)).toEqual({ inserted: 3, unchanged: 0, conflicts: [] });
          for (const device of batch) expect(await store.get(device.city, device.deviceId)).toEqual(device);
        }));

      it('counts an identical re-import as unchanged, even with later timestamps, and rewrites nothing', () =>
        run(async (store) => {
          const batch = devices(3);
          await store.importBatch(batch);
          const again = batch.map((d) => ({ ...d, createdAt: at(500), updatedAt: at(500) }));
          expect(await store.importBatch(again)).toEqual({ inserted: 0, unchanged: 3, conflicts: [] });
          expect(await store.get('tianjin', 'dev-00000')).toEqual(batch[0]);
        }));

      it('reports a device that differs as a conflict naming the fields, and keeps the stored one', () =>
        run(async (store) => {
          const [original] = devices(1);
          await store.importBatch([original as Device]);
          const changed = { ...(original as Device), type: 'noise-sensor', attributes: { vendor: 'other' } };
          const result = await store.importBatch([changed, ...devices(2, (i) => ({ deviceId: `new-${i}` }))]);
          expect(result.inserted).toBe(2);
          expect(result.unchanged).toBe(0);
          expect(result.conflicts).toEqual([{ deviceId: 'dev-00000', reason: expect.stringContaining('type') }]);
          expect(result.conflicts[0]?.reason).toContain('attributes');
          expect(await store.get('tianjin', 'dev-00000')).toEqual(original);
        }));

      it('treats a repeated id inside one batch like a re-import', () =>
        run(async (store) => {
          const [a] = devices(1);
          const b = { ...(a as Device), ownerOrg: 'someone-else' };
          expect(await store.importBatch([a as Device, a as Device, b])).toEqual({
            inserted: 1,
            unchanged: 1,
            conflicts: [{ deviceId: 'dev-00000', reason: expect.stringContaining('ownerOrg') }],
          });
        }));

      it('keeps the same device id in two cities apart', () =>
        run(async (store) => {
          await store.importBatch([aDevice({ city: 'tianjin' }), aDevice({ city: 'beijing', regionCode: '110101' })]);
          expect((await store.get('beijing', 'dev-0001'))?.regionCode).toBe('110101');
          expect((await store.get('tianjin', 'dev-0001'))?.regionCode).toBe('120101');
        }));

      it('treats absent and empty attributes as the same device', () =>
        run(async (store) => {
          const { attributes: _omit, ...bare } = aDevice();
          await store.importBatch([bare]);
          expect(await store.importBatch([{ ...bare, attributes: {} }])).toMatchObject({ unchanged: 1 });
        }));

      it('writes nothing when one device of the batch is invalid', () =>
        run(async (store) => {
          const four = [1, 2, 3, 4].map((i) => aCredential({ credentialId: `c${i}` }));
          const batch = [...devices(3), aDevice({ deviceId: 'too-many', credentials: four })];
          await expectMeshError(store.importBatch(batch), 'MALFORMED_REQUEST');
          expect(await store.count({ city: 'tianjin' })).toBe(0);
        }));

      it.each<[string, Partial<Device>]>([
        ['an empty device id', { deviceId: '' }],
        ['an unknown status', { status: 'lost' as DeviceStatus }],
        ['two credentials with one id', { credentials: [aCredential(), aCredential()] }],
        [
          'an x509 credential without a thumbprint',
          { credentials: [aCredential({ kind: 'x509', publicJwk: undefined })] },
        ],
        [
          'a credential that ends before it starts',
          { credentials: [aCredential({ notBefore: at(10), notAfter: at(5) })] },
        ],
        ['a non-string attribute', { attributes: { floor: 3 as unknown as string } }],
        ['an invalid date', { createdAt: new Date(Number.NaN) }],
      ])('refuses %s', (_what, overrides) =>
        run(async (store) => {
          await expectMeshError(store.importBatch([aDevice(overrides)]), 'MALFORMED_REQUEST');
        }),
      );
    });

    describe('importCheckedBatch', () => {
      it('stores checked devices as importBatch would, active and created at the batch instant', () =>
        run(async (store) => {
          const batch = devices(3, (i) => (i === 1 ? { attributes: undefined } : {}));
          const result = await store.importCheckedBatch(packed(batch), progress({ lines: 3, at: at(300) }));
          expect(result).toMatchObject({ inserted: 3, unchanged: 0, conflicts: [] });
          expect(result.checkpoint).toMatchObject({ linesDone: 3, inserted: 3, rejected: 0 });
          for (const device of batch) {
            expect(await store.get('tianjin', device.deviceId)).toEqual({
              ...device,
              createdAt: at(300),
              updatedAt: at(300),
            });
          }
          // The public path finds the same content: equal devices are unchanged, others conflict.
          expect(await store.importBatch(batch)).toEqual({ inserted: 0, unchanged: 3, conflicts: [] });
          const moved = aDevice({ deviceId: 'dev-00000', regionCode: '120102' });
          expect((await store.importCheckedBatch(packed([moved]), progress({ lines: 1 }))).conflicts).toEqual([
            { deviceId: 'dev-00000', reason: 'differs in: regionCode' },
          ]);
          expect((await store.getImportCheckpoint('job-1'))?.rejected).toBe(1);
        }));

      it('refuses to resume a job from another manifest, writing nothing', () =>
        run(async (store) => {
          await store.importCheckedBatch(packed(devices(1)), progress({ lines: 1 }));
          const other = progress({ lines: 1, sourceSha256: hex64('other manifest') });
          await expectMeshError(
            store.importCheckedBatch(packed([aDevice({ deviceId: 'late' })]), other),
            'MALFORMED_REQUEST',
          );
          expect(await store.get('tianjin', 'late')).toBeUndefined();
          expect((await store.getImportCheckpoint('job-1'))?.linesDone).toBe(1);
        }));
    });

    describe('import checkpoints', () => {
      it('advances the job checkpoint with the batch, counting conflicts and importer rejects as rejected', () =>
        run(async (store) => {
          const first = await store.importBatch(devices(3), progress({ lines: 4, rejected: 1 }));
          expect(first.checkpoint).toEqual({
            jobId: 'job-1',
            source: 'manifest.ndjson',
            sourceSha256: hex64('manifest'),
            linesDone: 4,
            inserted: 3,
            unchanged: 0,
            rejected: 1,
            updatedAt: at(100),
          });
          const batch = [
            ...devices(2),
            aDevice({ deviceId: 'dev-00002', type: 'changed' }),
            aDevice({ deviceId: 'fresh' }),
          ];
          await store.importBatch(batch, progress({ lines: 4, at: at(200) }));
          expect(await store.getImportCheckpoint('job-1')).toEqual({
            jobId: 'job-1',
            source: 'manifest.ndjson',
            sourceSha256: hex64('manifest'),
            linesDone: 8,
            inserted: 4,
            unchanged: 2,
            rejected: 2,
            updatedAt: at(200),
          });
        }));

      it('refuses to resume a job from another manifest, writing neither devices nor checkpoint', () =>
        run(async (store) => {
          await store.importBatch(devices(1), progress({ lines: 1 }));
          const other = progress({ lines: 1, sourceSha256: hex64('other manifest') });
          await expectMeshError(store.importBatch([aDevice({ deviceId: 'late' })], other), 'MALFORMED_REQUEST');
          expect(await store.get('tianjin', 'late')).toBeUndefined();
          expect((await store.getImportCheckpoint('job-1'))?.linesDone).toBe(1);
        }));

      it('refuses progress that covers fewer lines than the batch holds', () =>
        run(async (store) => {
          await expectMeshError(
            store.importBatch(devices(3), progress({ lines: 3, rejected: 1 })),
            'MALFORMED_REQUEST',
          );
          expect(await store.count({ city: 'tianjin' })).toBe(0);
          expect(await store.getImportCheckpoint('job-1')).toBeUndefined();
        }));

      it('saves and replaces a checkpoint explicitly', () =>
        run(async (store) => {
          expect(await store.getImportCheckpoint('job-9')).toBeUndefined();
          const checkpoint = {
            jobId: 'job-9',
            source: 's',
            sourceSha256: hex64('s'),
            linesDone: 0,
            inserted: 0,
            unchanged: 0,
            rejected: 0,
            updatedAt: at(1),
          };
          await store.saveImportCheckpoint(checkpoint);
          await store.saveImportCheckpoint({ ...checkpoint, linesDone: 10, inserted: 10, updatedAt: at(2) });
          expect(await store.getImportCheckpoint('job-9')).toEqual({
            ...checkpoint,
            linesDone: 10,
            inserted: 10,
            updatedAt: at(2),
          });
        }));
    });

    describe('status and credentials', () => {
      it('suspends and reactivates a device, stamping updatedAt', () =>
        run(async (store) => {
          await store.importBatch([aDevice()]);
          expect(await store.setStatus('tianjin', 'dev-0001', 'suspended', at(10))).toMatchObject({
            status: 'suspended',
            updatedAt: at(10),
          });
          expect(await store.setStatus('tianjin', 'dev-0001', 'active', at(20))).toMatchObject({
            status: 'active',
            updatedAt: at(20),
          });
          expect((await store.get('tianjin', 'dev-0001'))?.status).toBe('active');
        }));

      it('treats setting the current status as a no-op', () =>
        run(async (store) => {
          await store.importBatch([aDevice()]);
          expect(await store.setStatus('tianjin', 'dev-0001', 'active', at(10))).toMatchObject({ updatedAt: at(0) });
        }));

      it.each<DeviceStatus>(['active', 'suspended'])('never brings a revoked device back to %s', (to) =>
        run(async (store) => {
          await store.importBatch([aDevice()]);
          await store.setStatus('tianjin', 'dev-0001', 'revoked', at(10));
          await expectMeshError(store.setStatus('tianjin', 'dev-0001', to, at(20)), 'DEVICE_REVOKED');
          expect((await store.get('tianjin', 'dev-0001'))?.status).toBe('revoked');
        }),
      );

      it('fails with DEVICE_NOT_FOUND for an unknown device, also in another city', () =>
        run(async (store) => {
          await store.importBatch([aDevice()]);
          await expectMeshError(store.setStatus('tianjin', 'nope', 'suspended', at(1)), 'DEVICE_NOT_FOUND');
          await expectMeshError(store.setStatus('beijing', 'dev-0001', 'suspended', at(1)), 'DEVICE_NOT_FOUND');
          await expectMeshError(store.addCredential('tianjin', 'nope', aCredential(), at(1)), 'DEVICE_NOT_FOUND');
          await expectMeshError(store.removeCredential('tianjin', 'nope', 'cred-1', at(1)), 'DEVICE_NOT_FOUND');
        }));

      it('adds credentials up to three and refuses a fourth', () =>
        run(async (store) => {
          await store.importBatch([aDevice()]);
          await store.addCredential('tianjin', 'dev-0001', aCredential({ credentialId: 'c2' }), at(1));
          const x509 = aCredential({
            credentialId: 'c3',
            kind: 'x509',
            publicJwk: undefined,
            certificateSha256: hex64('cert'),
          });
          const three = await store.addCredential('tianjin', 'dev-0001', x509, at(2));
          expect(three.credentials.map((c) => c.credentialId)).toEqual(['cred-1', 'c2', 'c3']);
          expect(three.updatedAt).toEqual(at(2));
          await expectMeshError(
            store.addCredential('tianjin', 'dev-0001', aCredential({ credentialId: 'c4' }), at(3)),
            'MALFORMED_REQUEST',
          );
          expect((await store.get('tianjin', 'dev-0001'))?.credentials).toHaveLength(3);
          expect((await store.get('tianjin', 'dev-0001'))?.credentials[2]).toEqual(x509);
        }));

      it('treats adding an identical credential as a no-op and refuses a different one under the same id', () =>
        run(async (store) => {
          await store.importBatch([aDevice()]);
          expect((await store.addCredential('tianjin', 'dev-0001', aCredential(), at(5))).updatedAt).toEqual(at(0));
          await expectMeshError(
            store.addCredential('tianjin', 'dev-0001', aCredential({ notAfter: at(99) }), at(5)),
            'ALREADY_EXISTS',
          );
        }));

      it('refuses new credentials on a revoked device', () =>
        run(async (store) => {
          await store.importBatch([aDevice()]);
          await store.setStatus('tianjin', 'dev-0001', 'revoked', at(1));
          await expectMeshError(
            store.addCredential('tianjin', 'dev-0001', aCredential({ credentialId: 'c2' }), at(2)),
            'DEVICE_REVOKED',
          );
        }));

      it('removes a credential and refuses to remove one the device does not hold', () =>
        run(async (store) => {
          await store.importBatch([aDevice()]);
          expect((await store.removeCredential('tianjin', 'dev-0001', 'cred-1', at(3))).credentials).toEqual([]);
          expect((await store.get('tianjin', 'dev-0001'))?.credentials).toEqual([]);
          await expectMeshError(store.removeCredential('tianjin', 'dev-0001', 'cred-1', at(4)), 'KEY_NOT_FOUND');
        }));
    });

    describe('list and count', () => {
      const mixed = () =>
        devices(24, (i) => ({
          industry: i % 2 === 0 ? 'environment' : 'transport',
          type: i % 3 === 0 ? 'camera' : 'sensor',
          regionCode: ['120101', '120102', '120101001', '120223'][i % 4] as string,
          status: i % 5 === 0 ? 'suspended' : 'active',
        }));

      it.each<[string, Omit<DeviceFilter, 'city'>, (d: Device) => boolean]>([
        ['every device', {}, () => true],
        ['an industry', { industry: 'transport' }, (d) => d.industry === 'transport'],
        ['a type', { type: 'camera' }, (d) => d.type === 'camera'],
        ['a status', { status: 'suspended' }, (d) => d.status === 'suspended'],
        ['a district prefix', { regionPrefix: '120101' }, (d) => d.regionCode.startsWith('120101')],
        ['a city-wide prefix', { regionPrefix: '1201' }, (d) => d.regionCode.startsWith('1201')],
        [
          'industry, type and region together',
          { industry: 'environment', type: 'sensor', regionPrefix: '12010' },
          (d) => d.industry === 'environment' && d.type === 'sensor' && d.regionCode.startsWith('12010'),
        ],
      ])('lists and counts %s', (_what, filter, matches) =>
        run(async (store) => {
          const all = mixed();
          await store.importBatch([...all, aDevice({ city: 'beijing', deviceId: 'elsewhere' })]);
          const expected = all
            .filter(matches)
            .map((d) => d.deviceId)
            .sort();
          const listed = (await store.list({ city: 'tianjin', ...filter })).items.map((d) => d.deviceId);
          expect([...listed].sort()).toEqual(expected);
          expect(await store.count({ city: 'tianjin', ...filter })).toBe(expected.length);
        }),
      );

      it('lists in device id order, or region then device id with a region prefix', () =>
        run(async (store) => {
          await store.importBatch([
            aDevice({ deviceId: 'a', regionCode: '120102' }),
            aDevice({ deviceId: 'b', regionCode: '120101' }),
            aDevice({ deviceId: 'c', regionCode: '120101' }),
          ]);
          expect((await store.list({ city: 'tianjin' })).items.map((d) => d.deviceId)).toEqual(['a', 'b', 'c']);
          expect((await store.list({ city: 'tianjin', regionPrefix: '1201' })).items.map((d) => d.deviceId)).toEqual([
            'b',
            'c',
            'a',
          ]);
        }));

      it('refuses a region prefix that is not digits', () =>
        run(async (store) => {
          await expectMeshError(store.list({ city: 'tianjin', regionPrefix: '12%' }), 'MALFORMED_REQUEST');
          await expectMeshError(store.count({ city: 'tianjin', regionPrefix: '' }), 'MALFORMED_REQUEST');
        }));

      it('pages through every matching device exactly once, whatever the filter and page size', async () => {
        const spec = fc.record({
          id: fc.stringMatching(/^[a-z0-9-]{1,6}$/),
          industry: fc.constantFrom('environment', 'transport'),
          region: fc.constantFrom('120101', '120102', '120101001', '110105'),
          status: fc.constantFrom<DeviceStatus>('active', 'suspended'),
        });
        const filter = fc.record(
          {
            industry: fc.constantFrom('environment', 'transport'),
            regionPrefix: fc.constantFrom('1201', '120101', '11'),
            status: fc.constantFrom<DeviceStatus>('active', 'suspended'),
          },
          { requiredKeys: [] },
        );
        await fc.assert(
          fc.asyncProperty(
            fc.uniqueArray(spec, { selector: (s) => s.id, maxLength: 60 }),
            fc.integer({ min: 1, max: 15 }),
            filter,
            (specs, pageSize, f) =>
              run(async (store) => {
                await store.importBatch(
                  specs.map((s) =>
                    aDevice({ deviceId: s.id, industry: s.industry, regionCode: s.region, status: s.status }),
                  ),
                );
                const pages = await collectPages((page) => store.list({ city: 'tianjin', ...f }, page), pageSize);
                const seen = pages.flat().map((d) => d.deviceId);
                const expected = specs
                  .filter(
                    (s) =>
                      (f.industry === undefined || s.industry === f.industry) &&
                      (f.regionPrefix === undefined || s.region.startsWith(f.regionPrefix)) &&
                      (f.status === undefined || s.status === f.status),
                  )
                  .map((s) => s.id);
                expect(new Set(seen).size).toBe(seen.length);
                expect([...seen].sort()).toEqual([...expected].sort());
                for (const page of pages.slice(0, -1)) expect(page).toHaveLength(pageSize);
                if (expected.length > 0) expect(pages.at(-1)?.length).toBeGreaterThan(0);
              }),
          ),
          { numRuns: 30 },
        );
      });

      it('sees devices inserted between pages without repeating any', () =>
        run(async (store) => {
          await store.importBatch(devices(10, (i) => ({ deviceId: `d${i * 2 + 10}` })));
          const first = await store.list({ city: 'tianjin' }, { pageSize: 4 });
          await store.importBatch([aDevice({ deviceId: 'd00' }), aDevice({ deviceId: 'd99' })]);
          const rest = await collectPages(
            (page) => store.list({ city: 'tianjin' }, { ...page, pageToken: page.pageToken ?? first.nextPageToken }),
            4,
          );
          const ids = [...first.items, ...rest.flat()].map((d) => d.deviceId);
          expect(new Set(ids).size).toBe(ids.length);
          expect(ids).toContain('d99');
          expect(ids).not.toContain('d00');
        }));

      it('uses 100 as the default page size and caps pages at 1000', () =>
        run(async (store) => {
          await store.importBatch(devices(MAX_PAGE_SIZE + 5));
          expect((await store.list({ city: 'tianjin' })).items).toHaveLength(DEFAULT_PAGE_SIZE);
          const capped = await store.list({ city: 'tianjin' }, { pageSize: 50_000 });
          expect(capped.items).toHaveLength(MAX_PAGE_SIZE);
          expect(capped.nextPageToken).toBeDefined();
        }));

      it('refuses a page token issued for another query, or a forged one', () =>
        run(async (store) => {
          await store.importBatch(devices(5, (i) => ({ industry: i < 3 ? 'environment' : 'transport' })));
          const query = { city: 'tianjin', industry: 'environment' };
          const token = (await store.list(query, { pageSize: 1 })).nextPageToken as string;
          expect(token).toBeDefined();
          await expectMeshError(
            store.list({ city: 'tianjin', industry: 'transport' }, { pageToken: token }),
            'INVALID_PAGE_TOKEN',
          );
          await expectMeshError(
            store.list({ city: 'beijing', industry: 'environment' }, { pageToken: token }),
            'INVALID_PAGE_TOKEN',
          );
          await expectMeshError(
            store.list({ ...query, regionPrefix: '12' }, { pageToken: token }),
            'INVALID_PAGE_TOKEN',
          );
          for (const forged of forgedTokens(token))
            await expectMeshError(store.list(query, { pageToken: forged }), 'INVALID_PAGE_TOKEN');
          expect((await store.list(query, { pageToken: token })).items).toHaveLength(2);
        }));

      it('treats an empty page token as the first page', () =>
        run(async (store) => {
          await store.importBatch(devices(2));
          expect((await store.list({ city: 'tianjin' }, { pageToken: '' })).items).toHaveLength(2);
        }));
    });
  });
}
