import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppClients,
  connectApp,
  installExchangeServices,
  type RunningNode,
  startNode,
  unaryCall,
} from '../../../nodes/index.js';
import { DeviceServiceClient } from '../../../proto/gen/citymesh/v1/device_service.js';
import { NodeServiceClient } from '../../../proto/gen/citymesh/v1/node_service.js';
import { createCsr, exportPrivateKeyPem } from '../../../trust-anchor/index.js';
import { x509 } from '../../../trust-anchor/x509/provider.js';
import { citymesh, requireBuiltCli } from '../../support/cli-process.js';
import { freePort, outcomeOf } from './cluster-fixture.js';
import type { DeviceFixture } from './device-fixture.js';
import * as f from './device-fixture.js';

/**
 * Devices over mTLS with their city-CA certificates (P-256 and Ed25519, TLS 1.3), and the
 * revocation reach (device-identity.md §5.7): every node of the city reading the same
 * store refuses a suspended device at once, whichever node or the CLI suspended it.
 */

let fx: DeviceFixture;
let tianjinAdmin: AppClients;
/** A second Beijing node serving the same node folder, hence the same store (in production, another process). */
let beijingB: RunningNode;
let adminB: AppClients;
const clients: { close(): void }[] = [];

beforeAll(async () => {
  requireBuiltCli();
  fx = await f.startDeviceFixture();
  tianjinAdmin = await fx.cluster.app('tianjin', 'tj-console', { roles: ['device-admin'] });
  const port = await freePort();
  beijingB = await startNode({
    dir: fx.cluster.cities.beijing!.dir,
    clock: fx.cluster.anchor.clock,
    install: installExchangeServices,
    port,
    httpsPort: 0,
    refreshIntervalMs: 3_600_000,
  });
  adminB = connectApp(fx.admin.dir, `localhost:${port}`);
}, 60_000);

afterAll(async () => {
  for (const c of [...clients, ...(adminB ? [adminB] : [])]) c.close();
  await beijingB?.stop();
  await fx?.stop();
});

const endpointOf = (node: RunningNode) => `localhost:${node.port}`;
const nodeA = () => fx.cluster.cities.beijing!.node;

interface DeviceCertificate {
  readonly keyPem: string;
  /** Leaf first, then the city CA. */
  readonly chainPem: string;
}

/** A client of `Client` at `endpoint` over TLS 1.3 only, presenting `cert` when given (else a device with JWTs). */
function clientOf<C extends { close(): void }>(
  Client: new (endpoint: string, credentials: grpc.ChannelCredentials) => C,
  endpoint: string,
  cert?: DeviceCertificate,
): C {
  const context = tls.createSecureContext({
    ca: fx.cluster.anchor.rootPem,
    ...(cert === undefined ? {} : { key: cert.keyPem, cert: cert.chainPem }),
    minVersion: 'TLSv1.3',
  });
  const credentials = grpc.credentials.createFromSecureContext(context, { checkServerIdentity: () => undefined });
  const client = new Client(endpoint, credentials);
  clients.push(client);
  return client;
}

/** Registers `id` at `city`'s node, then has the device fetch its certificate there with its own JWT. */
async function certifiedDevice(
  id: string,
  options: { ed25519?: boolean; city?: 'beijing' | 'tianjin' } = {},
): Promise<DeviceCertificate> {
  const city = options.city ?? 'beijing';
  const key = options.ed25519 ? await f.generateEd25519KeyPair() : undefined;
  await f.register(fx, id, {
    ...(key === undefined ? {} : { key }),
    ...(city === 'tianjin' ? { client: tianjinAdmin, regionCode: '120101' } : {}),
  });
  const ctx = f.contextOf(fx, city);
  const token = await f.deviceJwt(fx, id, { city, aud: ctx.identity.entityId });
  const keys = fx.keys.get(id)!;
  const tokenClient = clientOf(DeviceServiceClient, ctx.identity.grpcEndpoint);
  const res = await unaryCall<{ certificateChainPem: string }>(async (cb) =>
    tokenClient.issueDeviceCertificate(
      { deviceId: id, csrPem: await createCsr({ keys, subjectCn: id }) },
      f.bearer(token),
      cb,
    ),
  );
  return { keyPem: await exportPrivateKeyPem(keys), chainPem: res.certificateChainPem };
}

const send = (client: DeviceServiceClient) =>
  outcomeOf(f.sendTelemetry(fx, { client }, [[f.reading(fx, { value: { pm25: 7 } })]]));

describe('devices over mTLS', () => {
  it('takes telemetry from a P-256 device certificate with no token; refuses it at once once suspended or revoked', async () => {
    const cert = await certifiedDevice('cam-p');
    const device = clientOf(DeviceServiceClient, endpointOf(nodeA()), cert);
    const sent = await f.sendTelemetry(fx, { client: device }, [[f.reading(fx, { readingId: 'm1' })]]);
    expect(sent).toMatchObject({ accepted: 1, rejected: 0 });
    const status = (action: 'suspendDevice' | 'resumeDevice' | 'revokeDevice') =>
      unaryCall((cb) => fx.admin.devices[action]({ deviceId: 'cam-p', reason: 'test' }, cb));
    // Same client, same TLS connection: the status is read on every call.
    await status('suspendDevice');
    expect(await send(device)).toBe('DEVICE_SUSPENDED');
    await status('resumeDevice');
    expect(await send(device)).toBe('OK');
    await status('revokeDevice');
    expect(await send(device)).toBe('DEVICE_REVOKED');
  });

  it('certifies an Ed25519 device from its CSR, client-only, and takes its telemetry over TLS 1.3', async () => {
    const cert = await certifiedDevice('cam-ed', { ed25519: true });
    const leaf = new x509.X509Certificate(cert.chainPem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
    expect(leaf.publicKey.algorithm.name).toBe('Ed25519');
    expect(leaf.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    const device = clientOf(DeviceServiceClient, endpointOf(nodeA()), cert);
    expect(await send(device)).toBe('OK');
    // Presented where a node or app is expected, the certificate is refused by the SVID path check.
    const asNode = clientOf(NodeServiceClient, endpointOf(nodeA()), cert);
    const refused = await unaryCall((cb) => asNode.getNodeStatus({}, cb)).catch((e: Error & { code?: string }) => e);
    expect(refused).toMatchObject({ code: 'CERTIFICATE_INVALID' });
    expect((refused as Error).message).toMatch(/serverAuth and clientAuth/);
  });

  it("refuses the certificate of another city's device, which its own city accepts", async () => {
    const cert = await certifiedDevice('cam-tj', { city: 'tianjin' });
    const atBeijing = clientOf(DeviceServiceClient, endpointOf(nodeA()), cert);
    expect(await send(atBeijing)).toBe('DEVICE_WRONG_CITY');
    const tianjin = f.contextOf(fx, 'tianjin').identity.grpcEndpoint;
    const atTianjin = clientOf(DeviceServiceClient, tianjin, cert);
    const home = await f.sendTelemetry(fx, { client: atTianjin }, [[f.reading(fx)]]);
    expect(home.accepted).toBe(1);
  });
});

describe('revocation reach', () => {
  it('two nodes of the city on one store refuse a device the moment either node or the CLI suspends it', async () => {
    const cert = await certifiedDevice('cam-r');
    const tokenAtB = clientOf(DeviceServiceClient, endpointOf(beijingB));
    const byJwt = (client: DeviceServiceClient) => async () =>
      outcomeOf(f.sendTelemetry(fx, { token: await f.deviceJwt(fx, 'cam-r'), client }, [[f.reading(fx)]]));
    const byCert = (node: RunningNode) => {
      const client = clientOf(DeviceServiceClient, endpointOf(node), cert);
      return () => send(client);
    };
    const ways = [byJwt(fx.deviceClient), byJwt(tokenAtB), byCert(nodeA()), byCert(beijingB)];
    const everywhere = async () => Promise.all(ways.map((way) => way()));
    const status = (admin: AppClients, action: 'suspendDevice' | 'resumeDevice' | 'revokeDevice') =>
      unaryCall((cb) => admin.devices[action]({ deviceId: 'cam-r', reason: 'reach' }, cb));

    expect(await everywhere()).toEqual(['OK', 'OK', 'OK', 'OK']);
    await status(fx.admin, 'suspendDevice');
    expect(await everywhere()).toEqual(Array(4).fill('DEVICE_SUSPENDED'));
    await status(adminB, 'resumeDevice');
    expect(await everywhere()).toEqual(['OK', 'OK', 'OK', 'OK']);
    const cli = await citymesh(
      ['devices', 'suspend', 'cam-r', '--reason', 'cli', '--dir', fx.cluster.cities.beijing!.dir],
      process.cwd(),
    );
    expect(cli.code, cli.stderr).toBe(0);
    expect(await everywhere()).toEqual(Array(4).fill('DEVICE_SUSPENDED'));
    await status(adminB, 'revokeDevice');
    expect(await everywhere()).toEqual(Array(4).fill('DEVICE_REVOKED'));
  });
});
