import type * as grpc from '@grpc/grpc-js';
import { importJWK, jwtVerify } from 'jose';
import { toServiceError } from '../../../common/errors/grpc.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { getCity, INDUSTRIES } from '../../../common/ids/index.js';
import { requireString } from '../../../common/proto/index.js';
import type { Device } from '../../../common/stores/device-store.js';
import type {
  DeviceServiceServer,
  ListDeviceTypesResponse,
  ListIndustriesResponse,
  SendTelemetryRequest,
  SendTelemetryResponse,
} from '../../../proto/gen/citymesh/v1/device_service.js';
import {
  DeviceRegistry,
  DeviceTokenVerifier,
  deferredTaxonomy,
  issueDeviceCertificate,
  jwkThumbprint,
} from '../../devices/index.js';
import { cityCaKey } from '../../trust/city-ca-key.js';
import type { ExchangeDeps } from '../exchange-core.js';
import { clientStream, unary } from '../handler.js';
import { hasAppRole } from '../roles.js';
import { issueToken, pageLimit, readToken } from './audit-paging.js';
import {
  actorOf,
  type DeviceCaller,
  type DeviceServiceCaller,
  devicePresenter,
  isWorkload,
  refuse,
  requireRoles,
} from './device-callers.js';
import { importDeviceLines } from './device-import-stream.js';
import {
  deviceAttributes,
  deviceToProto,
  deviceTypeToProto,
  jwkCredentialInput,
  malformed,
  parseJwkText,
  splitDeviceType,
  statusFromProto,
} from './device-proto.js';
import { receiveTelemetry } from './device-telemetry.js';

/** Device certificates issued through the service: a week, renewed by a new CSR. */
const DEVICE_CERTIFICATE_HOURS = 7 * 24;

/**
 * DeviceService: the city's device registry over gRPC (DeviceRegistry, so every change is
 * audited as the CLI's), device authentication, device certificates from the city CA and
 * telemetry stored as dataset records. Callers: docs/specs/protocol.md §3,
 * docs/specs/device-identity.md §6.
 *
 * Devices are not callers of the node's other services: a device JWT (`typ`
 * `citymesh-device+jwt`) or a device certificate is recognised here, for the RPCs a device
 * may call, before the generic authentication (which refuses both).
 */
export function deviceService(deps: ExchangeDeps): DeviceServiceServer {
  const { context } = deps;
  const { identity, stores, clock } = context;
  const { cluster, city } = identity;
  const taxonomy = deferredTaxonomy();
  const cityRegion = getCity(city).region;
  const registry = new DeviceRegistry({ store: stores.devices, clock, city, cityRegion, taxonomy, audit: deps.audit });
  const lookup = (c: string, id: string) => stores.devices.get(c, id);
  const verifier = new DeviceTokenVerifier({
    cluster,
    city,
    audience: identity.entityId,
    lookup,
    replay: context.replay,
    clock,
  });
  const log = (method: string) => (e: unknown) => context.log.error({ err: e, method }, 'call failed');

  const presentedDevice = devicePresenter(context, verifier, lookup);

  /**
   * Answers a call that presents device credentials (a device JWT or certificate) as that
   * device, and says whether it did; a call presenting none is left to the caller.
   */
  function answeredAsDevice<Res>(
    call: Parameters<typeof presentedDevice>[0],
    callback: grpc.sendUnaryData<Res>,
    method: string,
    handle: (caller: DeviceCaller) => Promise<Res>,
  ): boolean {
    let device: Promise<DeviceCaller> | undefined;
    try {
      device = presentedDevice(call);
    } catch (err) {
      callback(toServiceError(err, log(method)));
      return true;
    }
    if (device === undefined) return false;
    device.then(handle).then(
      (response) => callback(null, response),
      (err: unknown) => callback(toServiceError(err, log(method))),
    );
    return true;
  }

  /** A unary RPC a device may call too. */
  function deviceUnary<Req, Res>(
    method: string,
    handle: (request: Req, caller: DeviceServiceCaller) => Promise<Res>,
  ): grpc.handleUnaryCall<Req, Res> {
    const generic = unary<Req, Res>(context, method, (request, caller) => handle(request, caller));
    return (call, callback) => {
      if (!answeredAsDevice(call, callback, method, (caller) => handle(call.request, caller))) generic(call, callback);
    };
  }

  /** The device a device-callable request names, for a caller allowed to act on it. */
  const ownDevice = (caller: DeviceServiceCaller, deviceId: string, method: string) => {
    if (caller.kind === 'device' && caller.device.deviceId !== deviceId) {
      throw new MeshError('ROLE_REQUIRED', `${method}: a device may act on itself only, not on ${deviceId}`, {
        details: { method, rule: 'own-device' },
      });
    }
  };

  const now = () => clock.nowMs();
  const shown = (device: Device) => deviceToProto(device, cluster, now());

  return {
    registerDevice: unary(context, 'RegisterDevice', async (request, caller) => {
      requireRoles(caller, ['device-admin'], 'RegisterDevice');
      const d = request.device;
      if (d === undefined) throw malformed('RegisterDeviceRequest', 'device', 'is required');
      const id = requireString('Device', 'id', d.id, 128);
      const { industry, type } = splitDeviceType('Device', d.deviceType, d.industry);
      let credentials: unknown[] | undefined;
      if (d.publicKeyJwk !== '') {
        const jwk = parseJwkText('Device', 'public_key_jwk', d.publicKeyJwk);
        // Registering again keeps the stored window of the same key, so it is idempotent.
        const stored = await stores.devices.get(city, id);
        const held = stored?.credentials.find((c) => c.kind === 'jwk' && c.credentialId === jwkThumbprint(jwk));
        credentials = [
          held === undefined
            ? jwkCredentialInput(jwk, clock.now())
            : jwkCredentialInput(jwk, held.notBefore, held.notAfter),
        ];
      }
      const description = {
        deviceId: id,
        type,
        industry,
        regionCode: d.regionCode,
        ownerOrg: d.ownerOrg,
        ...(credentials === undefined ? {} : { credentials }),
      };
      const { device } = await registry.register(description, actorOf(caller));
      return { device: shown(device) };
    }),

    getDevice: deviceUnary('GetDevice', async (request: { deviceId: string }, caller) => {
      const deviceId = requireString('GetDeviceRequest', 'device_id', request.deviceId, 128);
      if (caller.kind === 'device') ownDevice(caller, deviceId, 'GetDevice');
      else if (!isWorkload(caller) && !hasAppRole(caller, 'device-admin') && !hasAppRole(caller, 'auditor')) {
        throw refuse(caller, 'GetDevice', 'a device-admin, an auditor, a workload of this city or the device itself');
      }
      return { device: shown(await registry.get(deviceId)) };
    }),

    listDevices: unary(context, 'ListDevices', async (request, caller) => {
      requireRoles(caller, ['device-admin', 'auditor'], 'ListDevices');
      const status = statusFromProto(request.status);
      let industry = request.industry === '' ? undefined : request.industry;
      let type: string | undefined;
      if (request.deviceType !== '') {
        const split = splitDeviceType('ListDevicesRequest', request.deviceType, request.industry);
        industry = split.industry;
        type = split.type;
      }
      const filter = {
        ...(industry === undefined ? {} : { industry }),
        ...(type === undefined ? {} : { type }),
        ...(request.regionCode === '' ? {} : { regionPrefix: request.regionCode.replace(/(00)+$/, '') }),
        ...(status === undefined ? {} : { status }),
      };
      const page = await registry.list(filter, {
        pageSize: pageLimit('ListDevicesRequest', request.pageSize),
        ...(request.pageToken === '' ? {} : { pageToken: request.pageToken }),
      });
      // The store has no owner index: filtered on the page, which may then come out short.
      const items = request.ownerOrg === '' ? page.items : page.items.filter((d) => d.ownerOrg === request.ownerOrg);
      return { devices: items.map(shown), nextPageToken: page.nextPageToken ?? '' };
    }),

    suspendDevice: unary(context, 'SuspendDevice', async (request, caller) => {
      requireRoles(caller, ['device-admin'], 'SuspendDevice');
      return { device: shown(await registry.suspend(request.deviceId, request.reason, actorOf(caller))) };
    }),

    revokeDevice: unary(context, 'RevokeDevice', async (request, caller) => {
      requireRoles(caller, ['device-admin'], 'RevokeDevice');
      return { device: shown(await registry.revoke(request.deviceId, request.reason, actorOf(caller))) };
    }),

    resumeDevice: unary(context, 'ResumeDevice', async (request, caller) => {
      requireRoles(caller, ['device-admin'], 'ResumeDevice');
      const reason = request.reason === '' ? undefined : request.reason;
      return { device: shown(await registry.resume(request.deviceId, reason, actorOf(caller))) };
    }),

    rotateDeviceCredential: deviceUnary(
      'RotateDeviceCredential',
      async (
        request: { deviceId: string; newPublicKeyJwk: string; proofOfPossession: string },
        caller: DeviceServiceCaller,
      ) => {
        const typeName = 'RotateDeviceCredentialRequest';
        const deviceId = requireString(typeName, 'device_id', request.deviceId, 128);
        const jwk = parseJwkText(typeName, 'new_public_key_jwk', request.newPublicKeyJwk);
        if (caller.kind === 'device') {
          ownDevice(caller, deviceId, 'RotateDeviceCredential');
          await verifyPossession(
            request.proofOfPossession,
            jwk,
            caller.spiffeId,
            [identity.entityId, identity.spiffeId],
            clock.now(),
          );
        } else {
          requireRoles(caller, ['device-admin'], 'RotateDeviceCredential');
        }
        const actor = actorOf(caller);
        const newId = jwkThumbprint(jwk);
        const before = await registry.get(deviceId);
        const old = before.credentials.filter((c) => c.kind === 'jwk' && c.credentialId !== newId);
        // Make room first when the device holds the most credentials it may.
        const full = before.credentials.length >= 3 && !before.credentials.some((c) => c.credentialId === newId);
        if (full) for (const c of old) await registry.removeCredential(deviceId, c.credentialId, actor, true);
        let device = await registry.rotateCredential(deviceId, jwkCredentialInput(jwk, clock.now()), actor);
        if (!full) for (const c of old) device = await registry.removeCredential(deviceId, c.credentialId, actor, true);
        return { device: shown(device) };
      },
    ),

    importDevices: clientStream(context, 'ImportDevices', async (call, caller) => {
      requireRoles(caller, ['device-admin'], 'ImportDevices');
      const report = await importDeviceLines({ store: stores.devices, city, cityRegion, taxonomy, clock }, call);
      await deps.audit.append({
        kind: 'devices.imported',
        actor: actorOf(caller),
        payload: { city, via: 'grpc', dryRun: report.dryRun, ...report.counts },
      });
      return { ...report.counts, badLines: report.badLines };
    }),

    authenticateDevice: unary(context, 'AuthenticateDevice', async (request, caller) => {
      if (caller.kind !== 'app') throw refuse(caller, 'AuthenticateDevice', 'an app (gateway) of this city');
      const token = requireString('AuthenticateDeviceRequest', 'device_jwt', request.deviceJwt, 8192);
      const verified = await verifier.verify(token);
      return {
        device: shown(verified.device),
        attributes: deviceAttributes(verified.device, cluster),
        expiresAt: verified.expiresAt,
      };
    }),

    issueDeviceCertificate: deviceUnary(
      'IssueDeviceCertificate',
      async (request: { deviceId: string; csrPem: string }, caller: DeviceServiceCaller) => {
        const typeName = 'IssueDeviceCertificateRequest';
        const deviceId = requireString(typeName, 'device_id', request.deviceId, 128);
        const csrPem = requireString(typeName, 'csr_pem', request.csrPem, 16_384);
        if (caller.kind === 'device') ownDevice(caller, deviceId, 'IssueDeviceCertificate');
        else if (!isWorkload(caller) && !hasAppRole(caller, 'device-admin')) {
          throw refuse(
            caller,
            'IssueDeviceCertificate',
            'the device itself, a device-admin or a workload of this city',
          );
        }
        const device = await registry.get(deviceId);
        const issued = await issueDeviceCertificate({
          csrPem,
          device,
          cluster,
          cityCa: await cityCaKey(context.dir, stores.keys),
          rootPems: [context.tls.rootPem],
          now: clock.now(),
          lifetimeHours: DEVICE_CERTIFICATE_HOURS,
        });
        await stores.devices.addCredential(city, deviceId, issued.credential, clock.now());
        await deps.audit.append({
          kind: 'device.certificate_issued',
          actor: actorOf(caller),
          payload: {
            city,
            deviceId,
            credentialId: issued.credential.credentialId,
            serial: issued.serial,
            notAfter: issued.notAfter.toISOString(),
          },
        });
        return { certificateChainPem: issued.chainPem, expiresAt: issued.notAfter };
      },
    ),

    sendTelemetry: (call, callback) => {
      const method = 'SendTelemetry';
      const telemetry = {
        cluster,
        city,
        devices: stores.devices,
        records: stores.records,
        taxonomy,
        now: () => clock.now(),
      };
      const asDevice = (caller: DeviceCaller) =>
        receiveTelemetry(telemetry, { kind: 'device', deviceId: caller.device.deviceId }, call);
      if (answeredAsDevice(call, callback, method, asDevice)) return;
      clientStream<SendTelemetryRequest, SendTelemetryResponse>(context, method, async (stream, caller) => {
        if (!isWorkload(caller)) throw refuse(caller, method, 'a device or a gateway of this city over mTLS');
        return receiveTelemetry(telemetry, { kind: 'gateway' }, stream);
      })(call, callback);
    },

    listDeviceTypes: deviceUnary(
      'ListDeviceTypes',
      async (request: { industry: string; pageSize: number; pageToken: string }): Promise<ListDeviceTypesResponse> => {
        const industries = request.industry === '' ? taxonomy.industries() : [request.industry];
        const all = industries
          .flatMap((i) => taxonomy.types(i))
          .map((t) => ({ key: `${t.industry}/${t.id}`, type: t }))
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        const { items, next } = pageOf(all, { industry: request.industry }, request, 'ListDeviceTypesRequest');
        return { deviceTypes: items.map((t) => deviceTypeToProto(t.type)), nextPageToken: next };
      },
    ),

    listIndustries: deviceUnary(
      'ListIndustries',
      async (request: { pageSize: number; pageToken: string }): Promise<ListIndustriesResponse> => {
        const all = [...INDUSTRIES]
          .map((i) => ({ key: i.id as string, info: i }))
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        const { items, next } = pageOf(all, {}, request, 'ListIndustriesRequest');
        return {
          industries: items.map(({ info }) => ({ id: info.id, name: info.name, description: info.description })),
          nextPageToken: next,
        };
      },
    ),
  };
}

/** A page of a sorted list, keyed by the last key shown (tokens bound to the query). */
function pageOf<T extends { key: string }>(
  all: readonly T[],
  query: object,
  request: { pageSize: number; pageToken: string },
  typeName: string,
): { items: readonly T[]; next: string } {
  const limit = pageLimit(typeName, request.pageSize);
  const after = request.pageToken === '' ? undefined : readToken(query, request.pageToken);
  const start = after === undefined ? 0 : all.findIndex((x) => x.key > after);
  const items = start === -1 ? [] : all.slice(start, start + limit);
  const more = start !== -1 && start + limit < all.length;
  return { items, next: more ? issueToken(query, items.at(-1)!.key) : '' };
}

/** The device proves it holds the new key: a short JWT signed by it, `sub` = the device, fresh by the node's clock. */
async function verifyPossession(
  proof: string,
  jwk: { kty: string },
  spiffeId: string,
  audiences: readonly string[],
  now: Date,
): Promise<void> {
  if (proof === '') {
    throw malformed('RotateDeviceCredentialRequest', 'proof_of_possession', 'is required when the device rotates');
  }
  try {
    const key = await importJWK(jwk as Parameters<typeof importJWK>[0], jwk.kty === 'OKP' ? 'EdDSA' : 'ES256');
    await jwtVerify(proof, key, {
      subject: spiffeId,
      audience: [...audiences],
      algorithms: ['ES256', 'EdDSA'],
      maxTokenAge: '10m',
      clockTolerance: 600,
      currentDate: now,
    });
  } catch (cause) {
    throw new MeshError('TOKEN_SIGNATURE_INVALID', 'proof_of_possession does not verify with the new key', {
      details: { field: 'proof_of_possession' },
      cause,
    });
  }
}
