import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../common/clock.js';
import { contentKey } from '../../../common/content-key.js';
import type { Device, DeviceCredential } from '../../../common/stores/device-store.js';
import { credentialsColumn, DevicePacker } from '../../../common/stores/packed-devices.js';
import { cityDeviceChecker, syntheticDevices } from '../../../nodes/devices/index.js';
import { openSqliteStores } from '../../../stores/index.js';

/*
 * The import writes credentials as text built directly, not through contentKey; stored
 * rows are compared as text, so both must spell every credential the same way.
 */

const asStored = (credentials: readonly DeviceCredential[]) =>
  contentKey(credentials.map((c) => ({ ...c, notBefore: c.notBefore.getTime(), notAfter: c.notAfter.getTime() })));

const memberName = fc.oneof(
  fc.constantFrom('kty', 'crv', 'x', 'y', 'alg', 'use', 'kid', 'key_ops', 'd', '0', '10', '9', '__proto__', 'Z', 'é'),
  fc.string({ maxLength: 6 }),
);
const memberValue = fc.oneof(
  { arbitrary: fc.string({ maxLength: 8 }), weight: 12 },
  fc.constant(undefined),
  fc.integer(),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
);
const instant = fc.date({ min: new Date(-1e12), max: new Date(4e12), noInvalidDate: true });
const credential = fc.record(
  {
    credentialId: fc.oneof(fc.string({ maxLength: 8 }), fc.constant('k"\\\u2028')),
    kind: fc.constantFrom('jwk', 'x509'),
    publicJwk: fc.oneof(fc.dictionary(memberName, memberValue, { maxKeys: 6 }), fc.constant(undefined)),
    certificateSha256: fc.oneof(
      fc.constant(undefined),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }),
      fc.integer(),
    ),
    notBefore: instant,
    notAfter: instant,
    extra: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 3 })),
  },
  { requiredKeys: ['credentialId', 'kind', 'notBefore', 'notAfter'] },
) as fc.Arbitrary<DeviceCredential>;

describe('the credentials column', () => {
  it('is the contentKey of the credentials with dates as milliseconds, whatever their shape', () => {
    fc.assert(
      fc.property(fc.array(credential, { maxLength: 3 }), (credentials) => {
        expect(credentialsColumn(credentials)).toBe(asStored(credentials));
      }),
      { numRuns: 2000 },
    );
  });

  it('spells the devices of a manifest as contentKey does', () => {
    const checker = cityDeviceChecker('tianjin');
    const describe = syntheticDevices({ city: 'tianjin', devices: 0 });
    for (let i = 0; i < 50; i++) {
      const device = checker.check(describe(i), new Date(0)) as Device;
      expect(credentialsColumn(device.credentials)).toBe(asStored(device.credentials));
    }
  });
});

describe('packed batches into SQLite', () => {
  it('store the same device as the public importBatch, so a re-import finds it unchanged', async () => {
    const stores = openSqliteStores(':memory:');
    const checker = cityDeviceChecker('tianjin');
    const describe = syntheticDevices({ city: 'tianjin', devices: 0 });
    const at = new ManualClock().now();
    const devices = [0, 1, 2, 3].map((i) => checker.check(describe(i), at) as Device);
    const packer = new DevicePacker('tianjin');
    for (const device of devices) packer.add(device);
    const job = { jobId: 'j', source: 's', sourceSha256: 'a'.repeat(64), lines: 4, rejected: 0, at };
    const sqlite = stores.devices as typeof stores.devices & {
      importCheckedBatch: (p: ReturnType<DevicePacker['take']>, j: typeof job) => Promise<unknown>;
    };
    expect(await sqlite.importCheckedBatch(packer.take(), job)).toMatchObject({ inserted: 4, conflicts: [] });
    for (const device of devices) expect(await stores.devices.get('tianjin', device.deviceId)).toEqual(device);
    expect(await stores.devices.importBatch(devices)).toEqual({ inserted: 0, unchanged: 4, conflicts: [] });
    const moved = { ...(devices[1] as Device), regionCode: '120000', attributes: { vendor: 'x' } };
    expect((await stores.devices.importBatch([moved])).conflicts).toEqual([
      { deviceId: moved.deviceId, reason: 'differs in: regionCode, attributes' },
    ]);
    await stores.close();
  });
});
