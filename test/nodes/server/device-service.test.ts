import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticateDeviceCertificate } from '../../../nodes/devices/index.js';
import { type AppClients, unaryCall } from '../../../nodes/index.js';
import { telemetryDatasetId } from '../../../nodes/server/services/device-telemetry.js';
import { ImportFormat } from '../../../proto/gen/citymesh/v1/common.js';
import { type Device, DeviceStatus } from '../../../proto/gen/citymesh/v1/device_service.js';
import { ErrorReason } from '../../../proto/gen/citymesh/v1/errors.js';
import {
  createCsr,
  type EcKeyPair,
  exportPublicJwk,
  findMember,
  generateEcKeyPair,
} from '../../../trust-anchor/index.js';
import { outcomeOf } from './cluster-fixture.js';
import * as f from './device-fixture.js';
import { CLUSTER, type DeviceFixture, TYPE } from './device-fixture.js';

let fx: DeviceFixture;

const beijing = () => f.contextOf(fx);
const nowS = () => f.nowS(fx);
const spiffeOf = f.spiffeOf;
const bearer = f.bearer;
const deviceJwt = (id: string, options?: Parameters<typeof f.deviceJwt>[2]) => f.deviceJwt(fx, id, options);
const register = (id: string, client?: AppClients) => f.register(fx, id, client === undefined ? {} : { client });
const reading = (r: Parameters<typeof f.reading>[1] = {}) => f.reading(fx, r);
const sendTelemetry = (as: Parameters<typeof f.sendTelemetry>[1], messages: Parameters<typeof f.sendTelemetry>[2]) =>
  f.sendTelemetry(fx, as, messages);

const LIST_ALL = {
  deviceType: '',
  industry: '',
  regionCode: '',
  ownerOrg: '',
  status: DeviceStatus.DEVICE_STATUS_UNSPECIFIED,
  pageSize: 0,
  pageToken: '',
};

const records = (deviceId = 'aq-1') =>
  beijing()
    .stores.records.page(
      telemetryDatasetId(CLUSTER, { city: 'beijing', ownerOrg: 'ecology-bureau', type: 'pm25-monitor' }),
      { limit: 1000 },
    )
    .then((p) => p.items.filter((r) => (JSON.parse(r.json) as { deviceId: string }).deviceId === deviceId));

beforeAll(async () => {
  fx = await f.startDeviceFixture();
  await register('aq-1');
}, 60_000);

afterAll(async () => {
  await fx?.stop();
});

describe('DeviceService', () => {
  it('registers idempotently, shows the key, and needs device-admin', async () => {
    const again = await unaryCall<{ device?: Device }>((cb) => fx.admin.devices.getDevice({ deviceId: 'aq-1' }, cb));
    const d = again.device!;
    expect(d.spiffeId).toBe(spiffeOf('aq-1'));
    expect(d.deviceType).toBe(TYPE);
    expect(d.industry).toBe('environment');
    expect(d.status).toBe(DeviceStatus.DEVICE_STATUS_ACTIVE);
    expect(d.keyThumbprint).toBe(fx.keys.get('aq-1')!.kid);
    // The same registration again returns the stored device.
    const jwk = JSON.parse(d.publicKeyJwk) as object;
    const res = await unaryCall<{ device?: Device }>((cb) => fx.admin.devices.registerDevice({ device: { ...d } }, cb));
    expect(res.device!.registeredAt).toEqual(d.registeredAt);
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256' });

    expect(await outcomeOf(register('aq-x', fx.plain))).toBe('ROLE_REQUIRED');
    expect(await outcomeOf(unaryCall((cb) => fx.plain.devices.listDevices(LIST_ALL, cb)))).toBe('ROLE_REQUIRED');
    const listed = await unaryCall<{ devices: Device[] }>((cb) =>
      fx.auditor.devices.listDevices({ ...LIST_ALL, deviceType: TYPE }, cb),
    );
    expect(listed.devices.map((x) => x.id)).toContain('aq-1');
    // A workload of the city may read a device (protocol.md §3).
    expect(await outcomeOf(unaryCall((cb) => fx.gateway.devices.getDevice({ deviceId: 'aq-1' }, cb)))).toBe('OK');
  });

  it('authenticates a device for a gateway: device and its attributes', async () => {
    const res = await unaryCall<{
      device?: Device;
      attributes?: { kind: number; city: string; industry: string; org: string; regionCode: string; subjectId: string };
      expiresAt?: Date;
    }>(async (cb) => fx.gateway.devices.authenticateDevice({ deviceJwt: await deviceJwt('aq-1') }, cb));
    expect(res.device!.id).toBe('aq-1');
    expect(res.attributes).toMatchObject({
      kind: 3,
      city: 'beijing',
      industry: 'environment',
      org: 'ecology-bureau',
      regionCode: '110105',
      subjectId: spiffeOf('aq-1'),
    });
    expect(res.expiresAt!.getTime()).toBe((nowS() + 300) * 1000);
    // Not for a device itself.
    const token = await deviceJwt('aq-1');
    expect(
      await outcomeOf(unaryCall((cb) => fx.deviceClient.authenticateDevice({ deviceJwt: token }, bearer(token), cb))),
    ).not.toBe('OK');
  });

  it('stores telemetry as dataset records, readable under the dataset id, a resent reading once', async () => {
    const res = await sendTelemetry({ token: await deviceJwt('aq-1') }, [
      [reading({ readingId: 'r1', value: { pm25: 10 } }), reading({ readingId: 'r2', value: { pm25: 20, pm10: 30 } })],
      [reading({ readingId: 'r1', value: { pm25: 10 } })],
    ]);
    expect(res).toMatchObject({ accepted: 3, rejected: 0, badReadings: [] });
    const again = await sendTelemetry({ token: await deviceJwt('aq-1') }, [
      [reading({ readingId: 'r2', value: { pm25: 20, pm10: 30 } })],
    ]);
    expect(again.accepted).toBe(1);
    const stored = await records();
    expect(stored.map((r) => r.recordId).sort()).toEqual(['aq-1:r1', 'aq-1:r2']);
    expect(JSON.parse(stored.find((r) => r.recordId === 'aq-1:r2')!.json)).toMatchObject({
      deviceId: 'aq-1',
      pm25: 20,
      pm10: 30,
    });
  });

  it('rejects readings that do not fit the type, with position and reason; keeps the good ones', async () => {
    const res = await sendTelemetry({ token: await deviceJwt('aq-1') }, [
      [
        reading({ readingId: 'ok-1', value: { pm25: 5 } }),
        reading({ readingId: 'bad-1', value: { pm25: -3 } }),
        reading({ readingId: 'bad-2', value: { pm25: 5, colour: 'red' } }),
      ],
      [reading({ readingId: 'bad-3', json: Buffer.from('not json') }), reading({ readingId: 'bad-4', value: {} })],
      [reading({ deviceId: 'aq-other', readingId: 'x' })],
    ]);
    expect(res.accepted).toBe(1);
    expect(res.rejected).toBe(5);
    expect(res.badReadings.map((b) => b.line)).toEqual([2, 3, 4, 5, 6]);
    expect(res.badReadings[0]!.reason).toBe(ErrorReason.ERROR_REASON_SCHEMA_VIOLATION);
    expect(res.badReadings[0]!.message).toMatch(/below the minimum/);
    expect(res.badReadings[1]!.message).toMatch(/unknown field/);
    expect(res.badReadings[2]!.reason).toBe(ErrorReason.ERROR_REASON_MALFORMED_REQUEST);
    expect(res.badReadings[3]!.message).toMatch(/required field is missing/);
    // Another device's reading is refused per reading.
    expect(res.badReadings[4]!.reason).toBe(ErrorReason.ERROR_REASON_ROLE_REQUIRED);
    const ids = (await records()).map((r) => r.recordId);
    expect(ids).toContain('aq-1:ok-1');
    expect(ids).not.toContain('aq-1:bad-1');
  });

  it('refuses expired, replayed and forged device JWTs, and devices of another city', async () => {
    const send = (token: string) => outcomeOf(sendTelemetry({ token }, [[reading({})]]));
    expect(await send(await deviceJwt('aq-1', { claims: { iat: nowS() - 7200, exp: nowS() - 3600 } }))).toBe(
      'TOKEN_EXPIRED',
    );
    const once = await deviceJwt('aq-1');
    expect(await send(once)).toBe('OK');
    expect(await send(once)).toBe('TOKEN_REPLAYED');
    const stranger = await generateEcKeyPair();
    expect(await send(await deviceJwt('aq-1', { key: stranger, kid: fx.keys.get('aq-1')!.kid }))).toBe(
      'TOKEN_SIGNATURE_INVALID',
    );
    expect(await send(await deviceJwt('aq-1', { key: stranger }))).toBe('TOKEN_KEY_UNKNOWN');
    expect(await send(await deviceJwt('aq-1', { city: 'tianjin' }))).toBe('DEVICE_WRONG_CITY');
    // A device JWT is no access token for the node's other services.
    const token = await deviceJwt('aq-1');
    expect(await outcomeOf(unaryCall((cb) => fx.deviceClient.listDevices(LIST_ALL, bearer(token), cb)))).not.toBe('OK');
  });

  it('refuses a suspended device at once, accepts it after resume, refuses a revoked one', async () => {
    await register('aq-2');
    const send = async (id: string) => outcomeOf(sendTelemetry({ token: await deviceJwt(id) }, [[reading({})]]));
    expect(await send('aq-2')).toBe('OK');
    await unaryCall((cb) => fx.admin.devices.suspendDevice({ deviceId: 'aq-2', reason: 'tampered' }, cb));
    expect(await send('aq-2')).toBe('DEVICE_SUSPENDED');
    // A gateway relaying it is refused per reading.
    const relayed = await sendTelemetry({ app: fx.gateway }, [
      [reading({ deviceId: 'aq-2' }), reading({ deviceId: 'aq-1' })],
    ]);
    expect(relayed.accepted).toBe(1);
    expect(relayed.badReadings[0]).toMatchObject({ line: 1, reason: ErrorReason.ERROR_REASON_DEVICE_SUSPENDED });
    await unaryCall((cb) => fx.admin.devices.resumeDevice({ deviceId: 'aq-2', reason: '' }, cb));
    expect(await send('aq-2')).toBe('OK');
    const revoked = await unaryCall<{ device?: Device }>((cb) =>
      fx.admin.devices.revokeDevice({ deviceId: 'aq-2', reason: 'stolen' }, cb),
    );
    expect(revoked.device!.status).toBe(DeviceStatus.DEVICE_STATUS_REVOKED);
    expect(await send('aq-2')).toBe('DEVICE_REVOKED');
    expect(
      await outcomeOf(unaryCall((cb) => fx.admin.devices.resumeDevice({ deviceId: 'aq-2', reason: '' }, cb))),
    ).toBe('DEVICE_REVOKED');
    // A gateway names the device of every reading it relays.
    const unnamed = await sendTelemetry({ app: fx.gateway }, [[reading({})]]);
    expect(unnamed.badReadings[0]).toMatchObject({ line: 1, reason: ErrorReason.ERROR_REASON_MALFORMED_REQUEST });
  });

  it('issues a device certificate to the device itself that authenticateDeviceCertificate accepts', async () => {
    await register('cam-7');
    const key = fx.keys.get('cam-7')!;
    const csrPem = await createCsr({ keys: key, subjectCn: 'cam-7' });
    const token = await deviceJwt('cam-7');
    const res = await unaryCall<{ certificateChainPem: string; expiresAt?: Date }>((cb) =>
      fx.deviceClient.issueDeviceCertificate({ deviceId: 'cam-7', csrPem }, bearer(token), cb),
    );
    expect(res.certificateChainPem).toContain('BEGIN CERTIFICATE');
    const leaf = res.certificateChainPem.split(/(?<=-----END CERTIFICATE-----\n?)/)[0]!;
    const ctx = beijing();
    const auth = await authenticateDeviceCertificate([leaf], {
      cluster: CLUSTER,
      city: 'beijing',
      cityCaPems: findMember(ctx.trust.metadata, 'beijing').ca_certificates,
      rootPems: [ctx.tls.rootPem],
      lookup: (c, id) => ctx.stores.devices.get(c, id),
      now: ctx.clock.now(),
    });
    expect(auth.device.deviceId).toBe('cam-7');
    expect(auth.expiresAt.getTime()).toBe(res.expiresAt!.getTime());
    // Not for another device.
    const other = await deviceJwt('cam-7');
    expect(
      await outcomeOf(
        unaryCall((cb) => fx.deviceClient.issueDeviceCertificate({ deviceId: 'aq-1', csrPem }, bearer(other), cb)),
      ),
    ).toBe('ROLE_REQUIRED');
  });

  it('rotates a key by a device-admin: the old key is refused from then on', async () => {
    await register('aq-3');
    const oldKey = fx.keys.get('aq-3')!;
    const next = await generateEcKeyPair();
    const res = await unaryCall<{ device?: Device }>(async (cb) =>
      fx.admin.devices.rotateDeviceCredential(
        {
          deviceId: 'aq-3',
          newPublicKeyJwk: JSON.stringify(await exportPublicJwk(next.publicKey)),
          proofOfPossession: '',
        },
        cb,
      ),
    );
    expect(res.device!.keyThumbprint).toBe(next.kid);
    const send = async (key: EcKeyPair) =>
      outcomeOf(sendTelemetry({ token: await deviceJwt('aq-3', { key }) }, [[reading({})]]));
    expect(await send(oldKey)).toBe('TOKEN_KEY_UNKNOWN');
    expect(await send(next)).toBe('OK');
  });

  it('imports devices from NDJSON lines, bad lines listed, idempotent', async () => {
    const line = (id: string, extra: object = {}) =>
      JSON.stringify({
        deviceId: id,
        type: 'pm25-monitor',
        industry: 'environment',
        regionCode: '110105',
        ownerOrg: 'ecology-bureau',
        ...extra,
      });
    const run = () =>
      f.importDevices(fx, ImportFormat.IMPORT_FORMAT_NDJSON, [
        [line('imp-1'), 'not json'],
        [line('imp-2', { regionCode: '120101' })],
        [line('imp-3')],
      ]);
    expect(await run()).toMatchObject({ linesRead: 4, registered: 2, unchanged: 0, rejected: 2 });
    const second = await run();
    expect(second).toMatchObject({ linesRead: 4, registered: 0, unchanged: 2, rejected: 2 });
    expect(second.badLines.map((b) => b.line)).toEqual([2, 3]);
    expect(await beijing().stores.devices.get('beijing', 'imp-3')).toBeDefined();
  });

  it('imports a CSV manifest; a dry run reports the same counts and rejects and stores nothing', async () => {
    const HEADER =
      'deviceId,type,industry,regionCode,ownerOrg,credentialId,publicJwk,notBefore,notAfter,attributes.vendor';
    const row = (id: string, region = '110105', type = 'pm25-monitor') =>
      `${id},${type},environment,${region},ecology-bureau,,,,,acme`;
    const jwk = '"{""kty"":""OKP"",""crv"":""Ed25519"",""x"":""11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo""}"';
    const csv = f.importDevices.bind(null, fx, ImportFormat.IMPORT_FORMAT_CSV);
    // A device imported, then suspended: its original line is a conflict from then on (§3).
    expect(await csv([[HEADER, row('csv-s')]])).toMatchObject({ registered: 1, rejected: 0 });
    await unaryCall((cb) => fx.admin.devices.suspendDevice({ deviceId: 'csv-s', reason: 'tampered' }, cb));
    const manifest = [
      [
        HEADER,
        `csv-1,pm25-monitor,environment,110105,ecology-bureau,k1,${jwk},2025-01-01T00:00:00Z,2035-01-01T00:00:00Z,`,
      ],
      [row('csv-2'), row('csv-3', '120101'), row('csv-4', '110105', 'pm25-monitr')],
      [row('csv-2'), row('csv-1', '110106'), row('aq-1'), row('csv-s'), 'csv-5,pm25-monitor,environment'],
    ];
    const dry = await csv(manifest, true);
    expect(await beijing().stores.devices.get('beijing', 'csv-1')).toBeUndefined();
    expect(await beijing().stores.devices.get('beijing', 'csv-2')).toBeUndefined();
    const real = await csv(manifest);
    expect(real).toMatchObject({ linesRead: 10, registered: 2, unchanged: 1, rejected: 6 });
    expect(dry).toEqual(real);
    const R = ErrorReason;
    expect(real.badLines.map((b) => [b.line, b.reason])).toEqual([
      [4, R.ERROR_REASON_DEVICE_WRONG_CITY],
      [5, R.ERROR_REASON_INVALID_IDENTIFIER],
      [7, R.ERROR_REASON_ALREADY_EXISTS],
      [8, R.ERROR_REASON_ALREADY_EXISTS],
      [9, R.ERROR_REASON_ALREADY_EXISTS],
      [10, R.ERROR_REASON_MALFORMED_REQUEST],
    ]);
    expect(real.badLines.map((b) => b.message).slice(2, 5)).toEqual([
      'device csv-1 is registered with other content (differs in: regionCode, credentials, attributes); it was left as it is',
      'device aq-1 is registered with other content (differs in: credentials, attributes); it was left as it is',
      'device csv-s is registered with other content (differs in: status); it was left as it is',
    ]);
    expect((await beijing().stores.devices.get('beijing', 'csv-1'))!.credentials[0]!.publicJwk).toMatchObject({
      crv: 'Ed25519',
    });
    // Run dry again: all stored now, nothing would change.
    expect(await csv(manifest, true)).toMatchObject({ registered: 0, unchanged: 3, rejected: 6 });
  });

  it('lists device types and industries to devices and apps, paged', async () => {
    const token = await deviceJwt('aq-1');
    const types = await unaryCall<{ deviceTypes: { id: string; telemetrySchema: Buffer }[]; nextPageToken: string }>(
      (cb) =>
        fx.deviceClient.listDeviceTypes({ industry: 'environment', pageSize: 5, pageToken: '' }, bearer(token), cb),
    );
    expect(types.deviceTypes).toHaveLength(5);
    expect(types.nextPageToken).not.toBe('');
    const ids = types.deviceTypes.map((t) => t.id);
    expect([...ids].sort()).toEqual(ids);
    const next = await unaryCall<{ deviceTypes: { id: string }[] }>((cb) =>
      fx.plain.devices.listDeviceTypes({ industry: 'environment', pageSize: 5, pageToken: types.nextPageToken }, cb),
    );
    expect(next.deviceTypes[0]!.id > ids[4]!).toBe(true);
    const pm25 = await unaryCall<{ deviceTypes: { id: string; telemetrySchema: Buffer }[] }>((cb) =>
      fx.plain.devices.listDeviceTypes({ industry: 'environment', pageSize: 1000, pageToken: '' }, cb),
    );
    const schema = JSON.parse(
      Buffer.from(pm25.deviceTypes.find((t) => t.id === TYPE)!.telemetrySchema).toString('utf8'),
    ) as { required: string[]; properties: Record<string, unknown> };
    expect(schema.required).toContain('pm25');
    const industries = await unaryCall<{ industries: { id: string }[] }>((cb) =>
      fx.plain.devices.listIndustries({ pageSize: 0, pageToken: '' }, cb),
    );
    expect(industries.industries.length).toBeGreaterThanOrEqual(10);
    expect(industries.industries.map((i) => i.id)).toContain('environment');
  });

  // Last: it moves the node's clock 15 minutes ahead of the wall clock.
  it('lets a device rotate its own key with proof of possession, never another device', async () => {
    await register('aq-4');
    const old = fx.keys.get('aq-4')!;
    const next = await f.generateEd25519KeyPair();
    const newPublicKeyJwk = JSON.stringify(await f.publicJwkOf(next));
    // Decided by the node's clock, not the wall clock (simulations run clocks of their own).
    fx.cluster.anchor.clock.advanceSeconds(900);
    const proof = (key: EcKeyPair, claims: Record<string, unknown> = {}) =>
      new SignJWT({ sub: spiffeOf('aq-4'), aud: beijing().identity.entityId, iat: nowS(), ...claims })
        .setProtectedHeader({ alg: f.isEd25519(key) ? 'EdDSA' : 'ES256' })
        .sign(key.privateKey);
    const rotate = async (caller: string, proofOfPossession: string, deviceId = 'aq-4') =>
      outcomeOf(
        unaryCall<{ device?: Device }>(async (cb) =>
          fx.deviceClient.rotateDeviceCredential(
            { deviceId, newPublicKeyJwk, proofOfPossession },
            bearer(await deviceJwt(caller)),
            cb,
          ),
        ),
      );
    expect(await rotate('aq-4', '')).toBe('MALFORMED_REQUEST');
    // Signed by the current key rather than the new one, about another device, or too old.
    expect(await rotate('aq-4', await proof(old))).toBe('TOKEN_SIGNATURE_INVALID');
    expect(await rotate('aq-4', await proof(next, { sub: spiffeOf('aq-1') }))).toBe('TOKEN_SIGNATURE_INVALID');
    expect(await rotate('aq-4', await proof(next, { iat: nowS() - 1800 }))).toBe('TOKEN_SIGNATURE_INVALID');
    // Another device, even holding a good proof for aq-4's new key.
    expect(await rotate('aq-1', await proof(next), 'aq-4')).toBe('ROLE_REQUIRED');
    expect(await rotate('aq-4', await proof(next))).toBe('OK');

    const device = (await unaryCall<{ device?: Device }>((cb) => fx.admin.devices.getDevice({ deviceId: 'aq-4' }, cb)))
      .device!;
    expect(device.keyThumbprint).toBe(next.kid);
    expect(JSON.parse(device.publicKeyJwk)).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    // The old key is removed at once: its tokens are refused, the new key's accepted.
    const send = async (key: EcKeyPair) =>
      outcomeOf(sendTelemetry({ token: await deviceJwt('aq-4', { key }) }, [[reading({})]]));
    expect(await send(old)).toBe('TOKEN_KEY_UNKNOWN');
    expect(await send(next)).toBe('OK');
    expect(fx.keys.get('aq-1')).toBeDefined();
    expect(await outcomeOf(sendTelemetry({ token: await deviceJwt('aq-1') }, [[reading({})]]))).toBe('OK');
  });
});
