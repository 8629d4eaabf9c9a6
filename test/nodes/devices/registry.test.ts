import { generateKeyPairSync } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../common/clock.js';
import type { Stores } from '../../../common/stores/index.js';
import { DeviceRegistry, defaultTaxonomy, syntheticDevices } from '../../../nodes/devices/index.js';
import { openMemoryStores } from '../../../stores/index.js';

const DAY = 86_400_000;
const realKey = (kind: 'ec' | 'ed25519') =>
  (kind === 'ec'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey
    : generateKeyPairSync('ed25519').publicKey
  ).export({ format: 'jwk' });

function credential(id: string, from: string, to: string, jwk: object = realKey('ec')) {
  return { credentialId: id, kind: 'jwk', publicJwk: jwk, notBefore: from, notAfter: to };
}

const description = (changes: object = {}) => ({
  ...syntheticDevices({ city: 'tianjin', devices: 1 })(0),
  credentials: [credential('k1', '2024-06-01T00:00:00Z', '2025-06-01T00:00:00Z', FIRST_KEY)],
  ...changes,
});
const FIRST_KEY = realKey('ed25519');

let stores: Stores;
let clock: ManualClock;
let audited: { kind: string; payload: object }[];
let registry: DeviceRegistry;

beforeEach(() => {
  stores = openMemoryStores();
  clock = new ManualClock(Date.UTC(2025, 0, 1));
  audited = [];
  registry = new DeviceRegistry({
    store: stores.devices,
    clock,
    city: 'tianjin',
    cityRegion: '120000',
    taxonomy: defaultTaxonomy(),
    audit: { append: async (event) => audited.push(event) },
  });
});

describe('device registry', () => {
  it('registers a device once; the same description again returns it unchanged', async () => {
    const first = await registry.register(description(), 'tester');
    expect(first).toMatchObject({ created: true, device: { deviceId: 'dev-0000000', status: 'active' } });
    clock.advance(DAY);
    const again = await registry.register(description(), 'tester');
    expect(again.created).toBe(false);
    expect(again.device.createdAt).toEqual(first.device.createdAt);
    expect(audited.map((e) => e.kind)).toEqual(['device.registered']);
  });

  it('refuses other content under a registered id, and a description that breaks a rule', async () => {
    await registry.register(description(), 'tester');
    await expect(registry.register(description({ ownerOrg: 'other-org' }), 'tester')).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
      message: expect.stringContaining('ownerOrg'),
    });
    await expect(registry.register(description({ deviceId: 'b', regionCode: '110105' }), 't')).rejects.toMatchObject({
      code: 'DEVICE_WRONG_CITY',
      details: { field: 'regionCode' },
    });
  });

  it('checks single keys fully: a point off the curve is refused', async () => {
    const x = (realKey('ec') as { x: string }).x;
    const off = credential('k1', '2024-06-01T00:00:00Z', '2026-01-01T00:00:00Z', { kty: 'EC', crv: 'P-256', x, y: x });
    await expect(registry.register(description({ credentials: [off] }), 't')).rejects.toMatchObject({
      code: 'MALFORMED_REQUEST',
      details: { field: 'credentials[0].publicJwk' },
    });
  });

  it('suspends, resumes and revokes; revocation is final; each change audited once', async () => {
    await registry.register(description(), 't');
    expect((await registry.suspend('dev-0000000', 'maintenance', 't')).status).toBe('suspended');
    expect((await registry.suspend('dev-0000000', 'again', 't')).status).toBe('suspended');
    expect((await registry.resume('dev-0000000', undefined, 't')).status).toBe('active');
    expect((await registry.revoke('dev-0000000', 'stolen', 't')).status).toBe('revoked');
    await expect(registry.resume('dev-0000000', undefined, 't')).rejects.toMatchObject({ code: 'DEVICE_REVOKED' });
    await expect(registry.suspend('dev-0000000', ' ', 't')).rejects.toMatchObject({ code: 'MALFORMED_REQUEST' });
    await expect(registry.suspend('nope', 'x', 't')).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    expect(audited.map((e) => e.kind)).toEqual([
      'device.registered',
      'device.suspended',
      'device.resumed',
      'device.revoked',
    ]);
    expect(audited[1]?.payload).toEqual({ city: 'tianjin', deviceId: 'dev-0000000', reason: 'maintenance' });
  });

  it('rotates: adds the next key alongside the old one, at most three, then removes the old one', async () => {
    await registry.register(description(), 't');
    const next = credential('k2', '2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
    const rotated = await registry.rotateCredential('dev-0000000', next, 't');
    expect(rotated.credentials.map((c) => c.credentialId)).toEqual(['k1', 'k2']);
    expect(await registry.rotateCredential('dev-0000000', next, 't')).toEqual(rotated);
    await registry.rotateCredential(
      'dev-0000000',
      credential('k3', '2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),
      't',
    );
    const fourth = credential('k4', '2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
    await expect(registry.rotateCredential('dev-0000000', fourth, 't')).rejects.toMatchObject({
      code: 'MALFORMED_REQUEST',
      message: expect.stringContaining('remove one first'),
    });
    const removed = await registry.removeCredential('dev-0000000', 'k1', 't');
    expect(removed.credentials.map((c) => c.credentialId)).toEqual(['k2', 'k3']);
    await expect(registry.removeCredential('dev-0000000', 'k1', 't')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
  });

  it('refuses a rotation to an expired key, to a key the device holds, under a used id', async () => {
    await registry.register(description(), 't');
    const expired = credential('k2', '2023-01-01T00:00:00Z', '2024-01-01T00:00:00Z');
    await expect(registry.rotateCredential('dev-0000000', expired, 't')).rejects.toMatchObject({
      details: { field: 'credential.notAfter' },
    });
    const sameKey = credential('k2', '2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z', FIRST_KEY);
    await expect(registry.rotateCredential('dev-0000000', sameKey, 't')).rejects.toMatchObject({
      message: expect.stringContaining('already holds this key as k1'),
    });
    const reused = credential('k1', '2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
    await expect(registry.rotateCredential('dev-0000000', reused, 't')).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
    });
  });

  it('will not remove the only key valid now from an active device unless forced', async () => {
    await registry.register(description(), 't');
    await expect(registry.removeCredential('dev-0000000', 'k1', 't')).rejects.toMatchObject({
      message: expect.stringContaining('only key'),
    });
    expect((await registry.removeCredential('dev-0000000', 'k1', 't', true)).credentials).toEqual([]);
  });

  it('lists the city devices by filter, and suggests an industry for a typo', async () => {
    const describe = syntheticDevices({ city: 'tianjin', devices: 0 });
    for (let i = 0; i < 30; i++) await registry.register({ ...describe(i), credentials: [] }, 't');
    const first = await registry.list({ industry: describe(0).industry as string }, { pageSize: 1 });
    expect(first.items).toHaveLength(1);
    expect(first.nextPageToken).toBeDefined();
    const byRegion = await registry.list({ regionPrefix: '120101' });
    expect(byRegion.items.every((d) => d.regionCode.startsWith('120101'))).toBe(true);
    await expect(registry.list({ industry: 'heath' })).rejects.toThrow('did you mean "health"?');
  });
});
