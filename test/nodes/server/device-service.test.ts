import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromServiceError } from '../../../common/errors/grpc.js';
import { authenticateDeviceCertificate } from '../../../nodes/devices/index.js';
import { type AppClients, unaryCall } from '../../../nodes/index.js';
import { telemetryDatasetId } from '../../../nodes/server/services/device-telemetry.js';
import { ImportFormat } from '../../../proto/gen/citymesh/v1/common.js';
import {
  type Device,
  DeviceServiceClient,
  DeviceStatus,
  type SendTelemetryResponse,
  type TelemetryReading,
} from '../../../proto/gen/citymesh/v1/device_service.js';
import { ErrorReason } from '../../../proto/gen/citymesh/v1/errors.js';
import {
  createCsr,
  type EcKeyPair,
  exportPublicJwk,
  findMember,
  generateEcKeyPair,
} from '../../../trust-anchor/index.js';
import { outcomeOf, startTestCluster, type TestCluster } from './cluster-fixture.js';

const CLUSTER = 'jjj';
const TYPE = 'environment/pm25-monitor';

let cluster: TestCluster;
let admin: AppClients;
let gateway: AppClients;
let plain: AppClients;
let auditor: AppClients;
let deviceClient: DeviceServiceClient;
const keys = new Map<string, EcKeyPair>();

const beijing = () => cluster.cities.beijing!.node.context;
const nowS = () => Math.floor(beijing().clock.nowMs() / 1000);
const spiffeOf = (id: string, city = 'beijing') => `spiffe://${city}.${CLUSTER}.citymesh/device/${id}`;

/** A device-signed JWT for `id` (or whatever the overrides make of it). */
async function deviceJwt(
  id: string,
  options: { key?: EcKeyPair; claims?: Record<string, unknown>; kid?: string; city?: string } = {},
): Promise<string> {
  const key = options.key ?? keys.get(id)!;
  const sub = spiffeOf(id, options.city);
  const claims = {
    iss: sub,
    sub,
    aud: beijing().identity.entityId,
    iat: nowS(),
    exp: nowS() + 300,
    jti: randomUUID(),
    ...options.claims,
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'citymesh-device+jwt', kid: options.kid ?? key.kid })
    .sign(key.privateKey);
}

const bearer = (token: string) => {
  const m = new grpc.Metadata();
  m.set('authorization', `Bearer ${token}`);
  return m;
};

async function register(id: string, client: AppClients = admin): Promise<Device> {
  const key = await generateEcKeyPair();
  keys.set(id, key);
  const jwk = await exportPublicJwk(key.publicKey);
  const res = await unaryCall<{ device?: Device }>((cb) =>
    client.devices.registerDevice(
      {
        device: {
          id,
          spiffeId: '',
          deviceType: TYPE,
          industry: '',
          regionCode: '110105',
          ownerOrg: 'ecology-bureau',
          publicKeyJwk: JSON.stringify(jwk),
          keyThumbprint: '',
          status: 0,
          statusReason: '',
          registeredAt: undefined,
          updatedAt: undefined,
        },
      },
      cb,
    ),
  );
  return res.device!;
}

const LIST_ALL = {
  deviceType: '',
  industry: '',
  regionCode: '',
  ownerOrg: '',
  status: DeviceStatus.DEVICE_STATUS_UNSPECIFIED,
  pageSize: 0,
  pageToken: '',
};

const reading = (r: Partial<TelemetryReading> & { value?: object }): TelemetryReading => ({
  deviceId: r.deviceId ?? '',
  readingId: r.readingId ?? '',
  observedAt: r.observedAt ?? new Date(beijing().clock.nowMs()),
  json: r.json ?? Buffer.from(JSON.stringify(r.value ?? { pm25: 12.5 })),
});

/** SendTelemetry as a device (its JWT) or through an app client (gateway). */
function sendTelemetry(
  as: { token: string } | { app: AppClients },
  messages: readonly TelemetryReading[][],
): Promise<SendTelemetryResponse> {
  return new Promise((resolve, reject) => {
    const done = (err: grpc.ServiceError | null, res: SendTelemetryResponse) =>
      err ? reject(fromServiceError(err)) : resolve(res);
    const stream =
      'token' in as ? deviceClient.sendTelemetry(bearer(as.token), done) : as.app.devices.sendTelemetry(done);
    for (const readings of messages) stream.write({ readings });
    stream.end();
  });
}

const records = (deviceId = 'aq-1') =>
  beijing()
    .stores.records.page(
      telemetryDatasetId(CLUSTER, { city: 'beijing', ownerOrg: 'ecology-bureau', type: 'pm25-monitor' }),
      { limit: 1000 },
    )
    .then((p) => p.items.filter((r) => (JSON.parse(r.json) as { deviceId: string }).deviceId === deviceId));

beforeAll(async () => {
  cluster = await startTestCluster(['beijing', 'tianjin']);
  admin = await cluster.app('beijing', 'device-console', { roles: ['device-admin'] });
  gateway = await cluster.app('beijing', 'edge-gateway');
  plain = await cluster.app('beijing', 'planner');
  auditor = await cluster.app('beijing', 'inspector', { roles: ['auditor'] });
  deviceClient = new DeviceServiceClient(
    beijing().identity.grpcEndpoint,
    grpc.credentials.createSsl(Buffer.from(cluster.anchor.rootPem), null, null, {
      checkServerIdentity: () => undefined,
    }),
  );
  await register('aq-1');
}, 60_000);

afterAll(async () => {
  deviceClient?.close();
  await cluster?.stop();
});

describe('DeviceService', () => {
  it('registers idempotently, shows the key, and needs device-admin', async () => {
    const again = await unaryCall<{ device?: Device }>((cb) => admin.devices.getDevice({ deviceId: 'aq-1' }, cb));
    const d = again.device!;
    expect(d.spiffeId).toBe(spiffeOf('aq-1'));
    expect(d.deviceType).toBe(TYPE);
    expect(d.industry).toBe('environment');
    expect(d.status).toBe(DeviceStatus.DEVICE_STATUS_ACTIVE);
    expect(d.keyThumbprint).toBe(keys.get('aq-1')!.kid);
    // The same registration again returns the stored device.
    const jwk = JSON.parse(d.publicKeyJwk) as object;
    const res = await unaryCall<{ device?: Device }>((cb) => admin.devices.registerDevice({ device: { ...d } }, cb));
    expect(res.device!.registeredAt).toEqual(d.registeredAt);
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256' });

    expect(await outcomeOf(register('aq-x', plain))).toBe('ROLE_REQUIRED');
    expect(await outcomeOf(unaryCall((cb) => plain.devices.listDevices(LIST_ALL, cb)))).toBe('ROLE_REQUIRED');
    const listed = await unaryCall<{ devices: Device[] }>((cb) =>
      auditor.devices.listDevices({ ...LIST_ALL, deviceType: TYPE }, cb),
    );
    expect(listed.devices.map((x) => x.id)).toContain('aq-1');
    // A workload of the city may read a device (protocol.md §3).
    expect(await outcomeOf(unaryCall((cb) => gateway.devices.getDevice({ deviceId: 'aq-1' }, cb)))).toBe('OK');
  });

  it('authenticates a device for a gateway: device and its attributes', async () => {
    const res = await unaryCall<{
      device?: Device;
      attributes?: { kind: number; city: string; industry: string; org: string; regionCode: string; subjectId: string };
      expiresAt?: Date;
    }>(async (cb) => gateway.devices.authenticateDevice({ deviceJwt: await deviceJwt('aq-1') }, cb));
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
      await outcomeOf(unaryCall((cb) => deviceClient.authenticateDevice({ deviceJwt: token }, bearer(token), cb))),
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
    expect(await send(await deviceJwt('aq-1', { key: stranger, kid: keys.get('aq-1')!.kid }))).toBe(
      'TOKEN_SIGNATURE_INVALID',
    );
    expect(await send(await deviceJwt('aq-1', { key: stranger }))).toBe('TOKEN_KEY_UNKNOWN');
    expect(await send(await deviceJwt('aq-1', { city: 'tianjin' }))).toBe('DEVICE_WRONG_CITY');
    // A device JWT is no access token for the node's other services.
    const token = await deviceJwt('aq-1');
    expect(await outcomeOf(unaryCall((cb) => deviceClient.listDevices(LIST_ALL, bearer(token), cb)))).not.toBe('OK');
  });

  it('refuses a suspended device at once, accepts it after resume, refuses a revoked one', async () => {
    await register('aq-2');
    const send = async (id: string) => outcomeOf(sendTelemetry({ token: await deviceJwt(id) }, [[reading({})]]));
    expect(await send('aq-2')).toBe('OK');
    await unaryCall((cb) => admin.devices.suspendDevice({ deviceId: 'aq-2', reason: 'tampered' }, cb));
    expect(await send('aq-2')).toBe('DEVICE_SUSPENDED');
    // A gateway relaying it is refused per reading.
    const relayed = await sendTelemetry({ app: gateway }, [
      [reading({ deviceId: 'aq-2' }), reading({ deviceId: 'aq-1' })],
    ]);
    expect(relayed.accepted).toBe(1);
    expect(relayed.badReadings[0]).toMatchObject({ line: 1, reason: ErrorReason.ERROR_REASON_DEVICE_SUSPENDED });
    await unaryCall((cb) => admin.devices.resumeDevice({ deviceId: 'aq-2', reason: '' }, cb));
    expect(await send('aq-2')).toBe('OK');
    const revoked = await unaryCall<{ device?: Device }>((cb) =>
      admin.devices.revokeDevice({ deviceId: 'aq-2', reason: 'stolen' }, cb),
    );
    expect(revoked.device!.status).toBe(DeviceStatus.DEVICE_STATUS_REVOKED);
    expect(await send('aq-2')).toBe('DEVICE_REVOKED');
    expect(await outcomeOf(unaryCall((cb) => admin.devices.resumeDevice({ deviceId: 'aq-2', reason: '' }, cb)))).toBe(
      'DEVICE_REVOKED',
    );
    // A gateway names the device of every reading it relays.
    const unnamed = await sendTelemetry({ app: gateway }, [[reading({})]]);
    expect(unnamed.badReadings[0]).toMatchObject({ line: 1, reason: ErrorReason.ERROR_REASON_MALFORMED_REQUEST });
  });

  it('issues a device certificate to the device itself that authenticateDeviceCertificate accepts', async () => {
    await register('cam-7');
    const key = keys.get('cam-7')!;
    const csrPem = await createCsr({ keys: key, subjectCn: 'cam-7' });
    const token = await deviceJwt('cam-7');
    const res = await unaryCall<{ certificateChainPem: string; expiresAt?: Date }>((cb) =>
      deviceClient.issueDeviceCertificate({ deviceId: 'cam-7', csrPem }, bearer(token), cb),
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
        unaryCall((cb) => deviceClient.issueDeviceCertificate({ deviceId: 'aq-1', csrPem }, bearer(other), cb)),
      ),
    ).toBe('ROLE_REQUIRED');
  });

  it('rotates a key by a device-admin: the old key is refused from then on', async () => {
    await register('aq-3');
    const oldKey = keys.get('aq-3')!;
    const next = await generateEcKeyPair();
    const res = await unaryCall<{ device?: Device }>(async (cb) =>
      admin.devices.rotateDeviceCredential(
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
      new Promise<{
        linesRead: number;
        registered: number;
        unchanged: number;
        rejected: number;
        badLines: { line: number }[];
      }>((resolve, reject) => {
        const stream = admin.devices.importDevices((err, res) => (err ? reject(fromServiceError(err)) : resolve(res)));
        stream.write({ format: ImportFormat.IMPORT_FORMAT_NDJSON, dryRun: false, lines: [line('imp-1'), 'not json'] });
        stream.write({
          format: ImportFormat.IMPORT_FORMAT_UNSPECIFIED,
          dryRun: false,
          lines: [line('imp-2', { regionCode: '120101' })],
        });
        stream.write({ format: ImportFormat.IMPORT_FORMAT_UNSPECIFIED, dryRun: false, lines: [line('imp-3')] });
        stream.end();
      });
    expect(await run()).toMatchObject({ linesRead: 4, registered: 2, unchanged: 0, rejected: 2 });
    const second = await run();
    expect(second).toMatchObject({ linesRead: 4, registered: 0, unchanged: 2, rejected: 2 });
    expect(second.badLines.map((b) => b.line)).toEqual([2, 3]);
    expect(await beijing().stores.devices.get('beijing', 'imp-3')).toBeDefined();
  });

  it('lists device types and industries to devices and apps, paged', async () => {
    const token = await deviceJwt('aq-1');
    const types = await unaryCall<{ deviceTypes: { id: string; telemetrySchema: Buffer }[]; nextPageToken: string }>(
      (cb) => deviceClient.listDeviceTypes({ industry: 'environment', pageSize: 5, pageToken: '' }, bearer(token), cb),
    );
    expect(types.deviceTypes).toHaveLength(5);
    expect(types.nextPageToken).not.toBe('');
    const ids = types.deviceTypes.map((t) => t.id);
    expect([...ids].sort()).toEqual(ids);
    const next = await unaryCall<{ deviceTypes: { id: string }[] }>((cb) =>
      plain.devices.listDeviceTypes({ industry: 'environment', pageSize: 5, pageToken: types.nextPageToken }, cb),
    );
    expect(next.deviceTypes[0]!.id > ids[4]!).toBe(true);
    const pm25 = await unaryCall<{ deviceTypes: { id: string; telemetrySchema: Buffer }[] }>((cb) =>
      plain.devices.listDeviceTypes({ industry: 'environment', pageSize: 1000, pageToken: '' }, cb),
    );
    const schema = JSON.parse(
      Buffer.from(pm25.deviceTypes.find((t) => t.id === TYPE)!.telemetrySchema).toString('utf8'),
    ) as { required: string[]; properties: Record<string, unknown> };
    expect(schema.required).toContain('pm25');
    const industries = await unaryCall<{ industries: { id: string }[] }>((cb) =>
      plain.devices.listIndustries({ pageSize: 0, pageToken: '' }, cb),
    );
    expect(industries.industries.length).toBeGreaterThanOrEqual(10);
    expect(industries.industries.map((i) => i.id)).toContain('environment');
  });
});
