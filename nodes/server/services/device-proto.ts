import { canonicalBytes } from '../../../common/canonical-json.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { formatSpiffeId } from '../../../common/ids/index.js';
import type { Device, DeviceCredential, DeviceStatus } from '../../../common/stores/device-store.js';
import { type SubjectAttributes, SubjectKind } from '../../../proto/gen/citymesh/v1/common.js';
import {
  type Device as DeviceMessage,
  type DeviceType as DeviceTypeMessage,
  DeviceStatus as ProtoStatus,
} from '../../../proto/gen/citymesh/v1/device_service.js';
import { type DeviceType, jwkThumbprint, type TelemetryField } from '../../devices/index.js';

/** How long a key registered through RegisterDevice or rotated in stays valid. */
export const GRPC_CREDENTIAL_VALIDITY_MS = 365 * 86_400_000;

const STATUS_TO_PROTO: Readonly<Record<DeviceStatus, ProtoStatus>> = {
  active: ProtoStatus.DEVICE_STATUS_ACTIVE,
  suspended: ProtoStatus.DEVICE_STATUS_SUSPENDED,
  revoked: ProtoStatus.DEVICE_STATUS_REVOKED,
};

export function malformed(typeName: string, field: string, message: string): MeshError {
  return new MeshError('MALFORMED_REQUEST', `${typeName}.${field}: ${message}`, {
    details: { message: typeName, field },
  });
}

/** A proto status filter; UNSPECIFIED = any. */
export function statusFromProto(status: ProtoStatus): DeviceStatus | undefined {
  switch (status) {
    case ProtoStatus.DEVICE_STATUS_UNSPECIFIED:
      return undefined;
    case ProtoStatus.DEVICE_STATUS_ACTIVE:
      return 'active';
    case ProtoStatus.DEVICE_STATUS_SUSPENDED:
      return 'suspended';
    case ProtoStatus.DEVICE_STATUS_REVOKED:
      return 'revoked';
    default:
      throw malformed('ListDevicesRequest', 'status', `unknown value ${status}`);
  }
}

/** `<industry>/<type>` split; a bare type takes `industry` (optional in the request). */
export function splitDeviceType(
  typeName: string,
  deviceType: string,
  industry: string,
): { industry: string; type: string } {
  const slash = deviceType.indexOf('/');
  if (slash === -1) {
    if (industry === '') throw malformed(typeName, 'device_type', 'must be `<industry>/<type>`');
    return { industry, type: deviceType };
  }
  const parts = { industry: deviceType.slice(0, slash), type: deviceType.slice(slash + 1) };
  if (industry !== '' && industry !== parts.industry) {
    throw malformed(typeName, 'industry', `${industry} is not the industry of device_type ${deviceType}`);
  }
  return parts;
}

/** The jwk credential a Device message shows: the newest valid now, else the newest. */
export function currentJwkCredential(device: Device, nowMs: number): DeviceCredential | undefined {
  const jwks = device.credentials.filter((c) => c.kind === 'jwk' && c.publicJwk !== undefined);
  const newest = (list: readonly DeviceCredential[]) =>
    list.reduce<DeviceCredential | undefined>(
      (best, c) => (best === undefined || c.notBefore.getTime() > best.notBefore.getTime() ? c : best),
      undefined,
    );
  const valid = jwks.filter((c) => c.notBefore.getTime() <= nowMs && nowMs < c.notAfter.getTime());
  return newest(valid) ?? newest(jwks);
}

export function deviceToProto(device: Device, cluster: string, nowMs: number): DeviceMessage {
  const credential = currentJwkCredential(device, nowMs);
  const jwk = credential?.publicJwk;
  return {
    id: device.deviceId,
    spiffeId: deviceSpiffeId(cluster, device),
    deviceType: `${device.industry}/${device.type}`,
    industry: device.industry,
    regionCode: device.regionCode,
    ownerOrg: device.ownerOrg,
    publicKeyJwk: jwk === undefined ? '' : JSON.stringify(jwk),
    keyThumbprint: jwk === undefined ? '' : jwkThumbprint(jwk),
    status: STATUS_TO_PROTO[device.status],
    // The store keeps no reason: it is in the audit log entry of the change.
    statusReason: '',
    registeredAt: device.createdAt,
    updatedAt: device.updatedAt,
  };
}

export function deviceSpiffeId(cluster: string, device: Pick<Device, 'city' | 'deviceId'>): string {
  // A device id with `:` is no SPIFFE segment (device-identity.md §1): shown without a SPIFFE id.
  if (device.deviceId.includes(':')) return '';
  return formatSpiffeId({ cluster, city: device.city, kind: 'device', name: device.deviceId });
}

/** A device's verified attributes for policy decisions. */
export function deviceAttributes(device: Device, cluster: string): SubjectAttributes {
  return {
    subjectId: deviceSpiffeId(cluster, device),
    kind: SubjectKind.SUBJECT_KIND_DEVICE,
    cluster,
    city: device.city,
    org: device.ownerOrg,
    industry: device.industry,
    level: 0,
    regionCode: device.regionCode,
    roles: [],
  };
}

/** A public JWK given as JSON text. */
export function parseJwkText(typeName: string, field: string, text: string): { kty: string } {
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    throw malformed(typeName, field, 'must be a public JWK as JSON text');
  }
  if (jwk === null || typeof jwk !== 'object' || typeof (jwk as { kty?: unknown }).kty !== 'string') {
    throw malformed(typeName, field, 'must be a public JWK as JSON text');
  }
  return jwk as { kty: string };
}

/** A jwk credential named by its thumbprint, valid from `notBefore` for a year, as registry input. */
export function jwkCredentialInput(jwk: { kty: string }, notBefore: Date, notAfter?: Date) {
  return {
    credentialId: jwkThumbprint(jwk),
    kind: 'jwk',
    publicJwk: jwk,
    notBefore: notBefore.toISOString(),
    notAfter: (notAfter ?? new Date(notBefore.getTime() + GRPC_CREDENTIAL_VALIDITY_MS)).toISOString(),
  };
}

function fieldSchema(field: TelemetryField): Record<string, unknown> {
  switch (field.type) {
    case 'number':
    case 'integer':
      return { type: field.type, minimum: field.min, maximum: field.max, 'x-unit': field.unit };
    case 'boolean':
      return { type: 'boolean' };
    case 'string':
      return { type: 'string', maxLength: field.maxLength };
    case 'enum':
      return { type: 'string', enum: [...field.values] };
  }
}

/** The type's telemetry fields as a JSON Schema (2020-12), RFC 8785 canonical; empty for none. */
export function telemetrySchemaOf(type: DeviceType): Buffer {
  if (type.fields.length === 0) return Buffer.alloc(0);
  const schema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties: Object.fromEntries(type.fields.map((f) => [f.name, fieldSchema(f)])),
    required: type.fields.filter((f) => f.required).map((f) => f.name),
    additionalProperties: false,
  };
  return Buffer.from(canonicalBytes(schema));
}

export function deviceTypeToProto(type: DeviceType): DeviceTypeMessage {
  return {
    id: `${type.industry}/${type.id}`,
    industry: type.industry,
    name: type.name,
    description: type.description,
    telemetrySchema: telemetrySchemaOf(type),
  };
}
