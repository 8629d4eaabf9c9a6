import type { Clock } from '../../../common/clock.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { parseIndustry } from '../../../common/ids/industry.js';
import {
  type Device,
  type DeviceCredential,
  type DeviceStatus,
  type DeviceStore,
  MAX_DEVICE_CREDENTIALS,
} from '../../../common/stores/device-store.js';
import type { JsonValue } from '../../../common/stores/json.js';
import type { Page, PageRequest } from '../../../common/stores/paging.js';
import type { Taxonomy } from '../taxonomy/index.js';
import { DeviceChecker } from './device-checker.js';
import { DeviceFault } from './device-fault.js';
import { publicKeyProblem } from './public-jwk.js';

/** Where registry changes are recorded: the node's audit log (`AuditLog` fits). */
export interface DeviceAuditSink {
  append(event: { kind: string; actor: string; payload: { readonly [member: string]: JsonValue } }): Promise<unknown>;
}

export interface DeviceRegistryInit {
  readonly store: DeviceStore;
  readonly clock: Clock;
  readonly city: string;
  /** The city's GB/T 2260 code. */
  readonly cityRegion: string;
  readonly taxonomy: Taxonomy;
  readonly audit?: DeviceAuditSink;
}

/** Filters of {@link DeviceRegistry.list}; the city is always the registry's. */
export interface DeviceListFilter {
  readonly industry?: string;
  readonly type?: string;
  readonly regionPrefix?: string;
  readonly status?: DeviceStatus;
}

const REGISTERED_FIELDS = ['type', 'industry', 'regionCode', 'ownerOrg', 'credentials', 'attributes'] as const;
const MAX_REASON_LENGTH = 500;

/** JSON with object keys sorted and dates as ISO text: equal content, equal text. */
const canonical = (value: unknown) =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

function requireReason(reason: string | undefined, required: boolean): string | undefined {
  if (reason === undefined || reason.trim() === '') {
    if (!required) return undefined;
    throw new MeshError('MALFORMED_REQUEST', 'a reason is required: it is recorded in the audit log', {
      details: { field: 'reason' },
    });
  }
  if (reason.length > MAX_REASON_LENGTH) {
    throw new MeshError('MALFORMED_REQUEST', `reason: at most ${MAX_REASON_LENGTH} characters`, {
      details: { field: 'reason' },
    });
  }
  return reason.trim();
}

/** True when the two keys are the same public key, whatever their optional members. */
const sameKey = (a: DeviceCredential, b: DeviceCredential) =>
  a.publicJwk !== undefined &&
  b.publicJwk !== undefined &&
  a.publicJwk.kty === b.publicJwk.kty &&
  a.publicJwk.x === b.publicJwk.x &&
  a.publicJwk.y === b.publicJwk.y;

/**
 * The device registry of one city: the domain layer the CLI and the gRPC DeviceService
 * share. Every description is checked as a manifest line is, plus a full key check
 * (the EC point on its curve), since one key at a time can afford it. Changes are audited.
 */
export class DeviceRegistry {
  readonly city: string;
  readonly #store: DeviceStore;
  readonly #clock: Clock;
  readonly #checker: DeviceChecker;
  readonly #audit: DeviceAuditSink | undefined;

  constructor(init: DeviceRegistryInit) {
    this.city = init.city;
    this.#store = init.store;
    this.#clock = init.clock;
    this.#audit = init.audit;
    this.#checker = new DeviceChecker({ ...init, keyCheck: publicKeyProblem });
  }

  /**
   * Registers a device (a manifest line's object), `active`. The same description again
   * returns the stored device with `created: false`.
   *
   * @throws MeshError with the fault's code for a bad description; `ALREADY_EXISTS` when
   *   the id is registered with other content
   */
  async register(description: unknown, actor: string): Promise<{ device: Device; created: boolean }> {
    const device = this.#checker.check(description, this.#clock.now());
    if (device instanceof DeviceFault) throw device.toError();
    const stored = await this.#store.get(this.city, device.deviceId);
    if (stored === undefined) {
      const result = await this.#store.importBatch([device]);
      if (result.inserted === 1) {
        await this.#record('device.registered', actor, { deviceId: device.deviceId });
        return { device: (await this.#store.get(this.city, device.deviceId)) as Device, created: true };
      }
    }
    const current = stored ?? ((await this.#store.get(this.city, device.deviceId)) as Device);
    const differs = REGISTERED_FIELDS.filter(
      (field) => canonical(current[field] ?? {}) !== canonical(device[field] ?? {}),
    );
    if (differs.length === 0) return { device: current, created: false };
    throw new MeshError(
      'ALREADY_EXISTS',
      `device ${device.deviceId} is registered with another ${differs.join(', ')}`,
      { details: { deviceId: device.deviceId, differs: differs.join(',') } },
    );
  }

  /** @throws MeshError `DEVICE_NOT_FOUND` */
  async get(deviceId: string): Promise<Device> {
    const device = await this.#store.get(this.city, deviceId);
    if (device === undefined) {
      throw new MeshError('DEVICE_NOT_FOUND', `${this.city} has no device ${deviceId}`, { details: { deviceId } });
    }
    return device;
  }

  /** A page of the city's devices. @throws MeshError `INVALID_IDENTIFIER` for an unknown industry */
  async list(filter: DeviceListFilter, page: PageRequest = {}): Promise<Page<Device>> {
    if (filter.industry !== undefined) parseIndustry(filter.industry);
    return this.#store.list({ ...filter, city: this.city }, page);
  }

  /** Refuses the device until resumed. @throws MeshError `DEVICE_NOT_FOUND`, `DEVICE_REVOKED` */
  async suspend(deviceId: string, reason: string, actor: string): Promise<Device> {
    return this.#setStatus(deviceId, 'suspended', requireReason(reason, true), actor);
  }

  /** @throws MeshError `DEVICE_NOT_FOUND`, `DEVICE_REVOKED` */
  async resume(deviceId: string, reason: string | undefined, actor: string): Promise<Device> {
    return this.#setStatus(deviceId, 'active', requireReason(reason, false), actor);
  }

  /** Revokes for good. @throws MeshError `DEVICE_NOT_FOUND` */
  async revoke(deviceId: string, reason: string, actor: string): Promise<Device> {
    return this.#setStatus(deviceId, 'revoked', requireReason(reason, true), actor);
  }

  /**
   * Adds a credential (the next key of a rotation); the old one keeps working until
   * {@link removeCredential}, so devices switch keys without a gap.
   *
   * @throws MeshError `MALFORMED_REQUEST` for a bad credential, an expired one, a key the
   *   device already holds or a fourth credential; `ALREADY_EXISTS` for another key under a
   *   used credential id; `DEVICE_REVOKED`, `DEVICE_NOT_FOUND`
   */
  async rotateCredential(deviceId: string, input: unknown, actor: string): Promise<Device> {
    const credential = this.#checker.credential(input);
    if (credential instanceof DeviceFault) throw credential.toError({ deviceId });
    if (credential.notAfter.getTime() <= this.#clock.nowMs()) {
      throw new MeshError('MALFORMED_REQUEST', `credential.notAfter is in the past: the key would never be usable`, {
        details: { field: 'credential.notAfter', deviceId },
      });
    }
    const device = await this.get(deviceId);
    const twin = device.credentials.find((c) => c.credentialId !== credential.credentialId && sameKey(c, credential));
    if (twin !== undefined) {
      throw new MeshError('MALFORMED_REQUEST', `device ${deviceId} already holds this key as ${twin.credentialId}`, {
        details: { field: 'credential.publicJwk', deviceId },
      });
    }
    const held = device.credentials.some((c) => c.credentialId === credential.credentialId);
    if (!held && device.credentials.length >= MAX_DEVICE_CREDENTIALS) {
      throw new MeshError(
        'MALFORMED_REQUEST',
        `device ${deviceId} holds ${MAX_DEVICE_CREDENTIALS} credentials already: remove one first (remove-credential)`,
        { details: { field: 'credential', deviceId, limit: MAX_DEVICE_CREDENTIALS } },
      );
    }
    const updated = await this.#store.addCredential(this.city, deviceId, credential, this.#clock.now());
    if (!held)
      await this.#record('device.credential_added', actor, { deviceId, credentialId: credential.credentialId });
    return updated;
  }

  /**
   * Removes a credential. Removing the last key valid now from an active device would lock
   * it out, so that needs `force`.
   *
   * @throws MeshError `KEY_NOT_FOUND`, `DEVICE_NOT_FOUND`, `MALFORMED_REQUEST` (last valid key)
   */
  async removeCredential(deviceId: string, credentialId: string, actor: string, force = false): Promise<Device> {
    const device = await this.get(deviceId);
    const now = this.#clock.nowMs();
    const validNow = (c: DeviceCredential) => c.notBefore.getTime() <= now && now < c.notAfter.getTime();
    const target = device.credentials.find((c) => c.credentialId === credentialId);
    const othersValid = device.credentials.some((c) => c.credentialId !== credentialId && validNow(c));
    if (!force && device.status === 'active' && target !== undefined && validNow(target) && !othersValid) {
      throw new MeshError(
        'MALFORMED_REQUEST',
        `${credentialId} is the only key of device ${deviceId} valid now; add its successor first (or force)`,
        { details: { field: 'credentialId', deviceId } },
      );
    }
    const updated = await this.#store.removeCredential(this.city, deviceId, credentialId, this.#clock.now());
    await this.#record('device.credential_removed', actor, { deviceId, credentialId });
    return updated;
  }

  async #setStatus(deviceId: string, status: DeviceStatus, reason: string | undefined, actor: string): Promise<Device> {
    const before = await this.get(deviceId);
    const after = await this.#store.setStatus(this.city, deviceId, status, this.#clock.now());
    if (before.status !== after.status) {
      const kind = status === 'active' ? 'device.resumed' : `device.${status}`;
      await this.#record(kind, actor, { deviceId, ...(reason === undefined ? {} : { reason }) });
    }
    return after;
  }

  async #record(kind: string, actor: string, payload: { [member: string]: JsonValue }): Promise<void> {
    await this.#audit?.append({ kind, actor, payload: { city: this.city, ...payload } });
  }
}
