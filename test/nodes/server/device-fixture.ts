import { randomUUID, type webcrypto } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { fromServiceError } from '../../../common/errors/grpc.js';
import { type AppClients, unaryCall } from '../../../nodes/index.js';
import type { NodeContext } from '../../../nodes/server/node-runtime.js';
import { ImportFormat } from '../../../proto/gen/citymesh/v1/common.js';
import {
  type Device,
  DeviceServiceClient,
  type ImportDevicesResponse,
  type SendTelemetryResponse,
  type TelemetryReading,
} from '../../../proto/gen/citymesh/v1/device_service.js';
import { type EcKeyPair, exportPublicJwk, generateEcKeyPair, keyIdOf } from '../../../trust-anchor/index.js';
import { subtle } from '../../../trust-anchor/x509/provider.js';
import { startTestCluster, type TestCluster } from './cluster-fixture.js';

/**
 * What the DeviceService suites share: a Beijing and a Tianjin node, a device-admin, a
 * gateway, a plain app and an auditor of Beijing, and devices with their keys (P-256 or
 * Ed25519), which sign their own JWTs.
 */

export const CLUSTER = 'jjj';
export const TYPE = 'environment/pm25-monitor';

export interface DeviceFixture {
  readonly cluster: TestCluster;
  /** With its credentials folder, to connect it to another node of the city. */
  readonly admin: AppClients & { readonly dir: string };
  readonly gateway: AppClients;
  readonly plain: AppClients;
  readonly auditor: AppClients;
  /** TLS without a client certificate: a device that signs JWTs. */
  readonly deviceClient: DeviceServiceClient;
  readonly keys: Map<string, EcKeyPair>;
  stop(): Promise<void>;
}

export async function startDeviceFixture(): Promise<DeviceFixture> {
  const cluster = await startTestCluster(['beijing', 'tianjin']);
  const [admin, gateway, plain, auditor] = [
    await cluster.app('beijing', 'device-console', { roles: ['device-admin'] }),
    await cluster.app('beijing', 'edge-gateway'),
    await cluster.app('beijing', 'planner'),
    await cluster.app('beijing', 'inspector', { roles: ['auditor'] }),
  ];
  const deviceClient = new DeviceServiceClient(
    cluster.cities.beijing!.node.context.identity.grpcEndpoint,
    grpc.credentials.createSsl(Buffer.from(cluster.anchor.rootPem), null, null, {
      checkServerIdentity: () => undefined,
    }),
  );
  return {
    cluster,
    admin,
    gateway,
    plain,
    auditor,
    deviceClient,
    keys: new Map(),
    async stop() {
      deviceClient.close();
      await cluster.stop();
    },
  };
}

export const contextOf = (fx: DeviceFixture, city = 'beijing'): NodeContext => fx.cluster.cities[city]!.node.context;
export const nowS = (fx: DeviceFixture) => Math.floor(contextOf(fx).clock.nowMs() / 1000);
export const spiffeOf = (id: string, city = 'beijing') => `spiffe://${city}.${CLUSTER}.citymesh/device/${id}`;
export const isEd25519 = (key: EcKeyPair) => key.privateKey.algorithm.name === 'Ed25519';

export async function generateEd25519KeyPair(): Promise<EcKeyPair> {
  const pair = (await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, kid: await keyIdOf(pair.publicKey) };
}

/** The public JWK a device registers: EC P-256 or OKP Ed25519. */
export async function publicJwkOf(key: EcKeyPair): Promise<Record<string, string>> {
  if (!isEd25519(key)) return { ...(await exportPublicJwk(key.publicKey)) };
  const { x } = await subtle.exportKey('jwk', key.publicKey);
  return { kty: 'OKP', crv: 'Ed25519', x: x! };
}

/** A device-signed JWT (ES256 or EdDSA after the key) for `id`, or whatever the overrides make of it. */
export async function deviceJwt(
  fx: DeviceFixture,
  id: string,
  options: { key?: EcKeyPair; claims?: Record<string, unknown>; kid?: string; city?: string; aud?: string } = {},
): Promise<string> {
  const key = options.key ?? fx.keys.get(id)!;
  const sub = spiffeOf(id, options.city);
  const claims = {
    iss: sub,
    sub,
    aud: options.aud ?? contextOf(fx).identity.entityId,
    iat: nowS(fx),
    exp: nowS(fx) + 300,
    jti: randomUUID(),
    ...options.claims,
  };
  return new SignJWT(claims)
    .setProtectedHeader({
      alg: isEd25519(key) ? 'EdDSA' : 'ES256',
      typ: 'citymesh-device+jwt',
      kid: options.kid ?? key.kid,
    })
    .sign(key.privateKey);
}

export const bearer = (token: string) => {
  const m = new grpc.Metadata();
  m.set('authorization', `Bearer ${token}`);
  return m;
};

/** Registers `id` with a fresh key (P-256 unless given) through `client` (the device-admin by default). */
export async function register(
  fx: DeviceFixture,
  id: string,
  options: { client?: AppClients; key?: EcKeyPair; regionCode?: string } = {},
): Promise<Device> {
  const key = options.key ?? (await generateEcKeyPair());
  fx.keys.set(id, key);
  const res = await unaryCall<{ device?: Device }>(async (cb) =>
    (options.client ?? fx.admin).devices.registerDevice(
      {
        device: {
          id,
          spiffeId: '',
          deviceType: TYPE,
          industry: '',
          regionCode: options.regionCode ?? '110105',
          ownerOrg: 'ecology-bureau',
          publicKeyJwk: JSON.stringify(await publicJwkOf(key)),
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

export const reading = (
  fx: DeviceFixture,
  r: Partial<TelemetryReading> & { value?: object } = {},
): TelemetryReading => ({
  deviceId: r.deviceId ?? '',
  readingId: r.readingId ?? '',
  observedAt: r.observedAt ?? new Date(contextOf(fx).clock.nowMs()),
  json: r.json ?? Buffer.from(JSON.stringify(r.value ?? { pm25: 12.5 })),
});

/** SendTelemetry as a device with its JWT, through a device client (its certificate), or through an app (gateway). */
export function sendTelemetry(
  fx: DeviceFixture,
  as: { token: string; client?: DeviceServiceClient } | { app: AppClients } | { client: DeviceServiceClient },
  messages: readonly TelemetryReading[][],
): Promise<SendTelemetryResponse> {
  return new Promise((resolve, reject) => {
    const done = (err: grpc.ServiceError | null, res: SendTelemetryResponse) =>
      err ? reject(fromServiceError(err)) : resolve(res);
    const stream =
      'token' in as
        ? (as.client ?? fx.deviceClient).sendTelemetry(bearer(as.token), done)
        : 'app' in as
          ? as.app.devices.sendTelemetry(done)
          : as.client.sendTelemetry(done);
    for (const readings of messages) stream.write({ readings });
    stream.end();
  });
}

/** ImportDevices with the manifest lines in `chunks`, one message each; `dryRun` in the first. */
export function importDevices(
  fx: DeviceFixture,
  format: ImportFormat,
  chunks: readonly (readonly string[])[],
  dryRun = false,
): Promise<ImportDevicesResponse> {
  return new Promise((resolve, reject) => {
    const stream = fx.admin.devices.importDevices((err, res) => (err ? reject(fromServiceError(err)) : resolve(res)));
    chunks.forEach((lines, i) => {
      stream.write({ format: i === 0 ? format : ImportFormat.IMPORT_FORMAT_UNSPECIFIED, dryRun, lines: [...lines] });
    });
    stream.end();
  });
}
