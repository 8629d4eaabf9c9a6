import { X509Certificate } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import type { Device } from '../../../common/stores/device-store.js';
import { findMember } from '../../../trust-anchor/index.js';
import {
  authenticateDeviceCertificate,
  DEVICE_TOKEN_TYP,
  type DeviceLookup,
  type DeviceTokenVerifier,
} from '../../devices/index.js';
import { peerChainOf } from '../../exchange/grpc-peer.js';
import { type Caller, describeCaller } from '../caller.js';
import type { NodeContext } from '../node-runtime.js';
import { hasAppRole, type ProtocolRole } from '../roles.js';

/** A device of this city, authenticated by its JWT or its certificate. Known to DeviceService only. */
export interface DeviceCaller {
  readonly kind: 'device';
  readonly device: Device;
  readonly spiffeId: string;
  readonly expiresAt: Date;
}

/** Who calls a DeviceService RPC: the node's usual callers, or a device (device-callable RPCs only). */
export type DeviceServiceCaller = Caller | DeviceCaller;

export const describe = (caller: DeviceServiceCaller) =>
  caller.kind === 'device' ? `device ${caller.device.deviceId}` : describeCaller(caller);

/** An app of this city over mTLS (SPIFFE `.../app/<client_id>`): a gateway or other workload. */
export const isWorkload = (caller: DeviceServiceCaller) => caller.kind === 'app' && caller.subject === undefined;

export function refuse(caller: DeviceServiceCaller, method: string, who: string): MeshError {
  return new MeshError('ROLE_REQUIRED', `${method} is for ${who}; ${describe(caller)} is not`, {
    details: { method, role: who },
  });
}

export function requireRoles(caller: DeviceServiceCaller, roles: readonly ProtocolRole[], method: string): void {
  if (caller.kind === 'device' || !roles.some((role) => hasAppRole(caller, role))) {
    throw refuse(caller, method, `an app of this city with role ${roles.join(' or ')}`);
  }
}

export const actorOf = (caller: DeviceServiceCaller) =>
  caller.kind === 'device'
    ? caller.spiffeId
    : caller.kind === 'app'
      ? (caller.subject ?? caller.spiffeId)
      : caller.kind === 'node'
        ? caller.peer.spiffeId
        : caller.spiffeId;

/** The header of a compact JWS, or undefined when it is none. */
function jwsHeader(token: string): Record<string, unknown> | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0 || dot > 1024) return undefined;
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8')) as unknown;
    return header !== null && typeof header === 'object' ? (header as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Recognises the device presenting a call (certificate or device JWT); undefined when the call is not a device's. */
export function devicePresenter(context: NodeContext, verifier: DeviceTokenVerifier, lookup: DeviceLookup) {
  const { cluster, city } = context.identity;
  const clock = context.clock;
  return (call: {
    getAuthContext(): Parameters<typeof peerChainOf>[0];
    metadata: grpc.Metadata;
  }): Promise<DeviceCaller> | undefined => {
    const chain = peerChainOf(call.getAuthContext());
    if (chain.length > 0) {
      let san = '';
      try {
        san = new X509Certificate(chain[0]!).subjectAltName ?? '';
      } catch {
        return undefined;
      }
      if (!/URI:spiffe:\/\/[^/]+\/device\//.test(san)) return undefined;
      const metadata = context.trust.metadata;
      return authenticateDeviceCertificate(chain, {
        cluster,
        city,
        cityCaPems: findMember(metadata, city).ca_certificates,
        rootPems: [context.tls.rootPem],
        revokedSerials: metadata.revocations.filter((r) => r.kind === 'certificate').map((r) => r.id),
        lookup,
        now: clock.now(),
      }).then((d) => ({ kind: 'device', device: d.device, spiffeId: d.spiffeId, expiresAt: d.expiresAt }));
    }
    const values = call.metadata.get('authorization');
    const value = values.length === 1 ? String(values[0]) : '';
    if (!value.startsWith('Bearer ')) return undefined;
    const token = value.slice('Bearer '.length);
    const typ = jwsHeader(token)?.typ;
    if (typ !== DEVICE_TOKEN_TYP && typ !== `application/${DEVICE_TOKEN_TYP}`) return undefined;
    return verifier
      .verify(token)
      .then((d) => ({ kind: 'device', device: d.device, spiffeId: d.spiffeId, expiresAt: d.expiresAt }));
  };
}
