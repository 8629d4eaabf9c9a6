import { createHash } from 'node:crypto';
import type { Device, DeviceStore } from '../../../common/stores/device-store.js';

/**
 * What identical content means for an import (device-identity.md §3): every field but
 * `createdAt` and `updatedAt`, in the order `DeviceStore.importBatch` names them in a
 * conflict's `differs in: ...`.
 */
const COMPARED_FIELDS = ['type', 'industry', 'regionCode', 'ownerOrg', 'status', 'credentials', 'attributes'] as const;

/** JSON with sorted object keys: equal content, equal text. */
const canonical = (value: unknown) =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

const DIGEST_CHARS = 8;

/** 48 bits of SHA-256 per field, in one string: enough to tell contents apart, small enough to keep per device. */
const fieldDigests = (device: Device) =>
  COMPARED_FIELDS.map((field) =>
    createHash('sha256')
      .update(canonical(device[field] ?? {}))
      .digest('base64url')
      .slice(0, DIGEST_CHARS),
  ).join('');

const fieldDigest = (digests: string, i: number) => digests.slice(i * DIGEST_CHARS, (i + 1) * DIGEST_CHARS);

export type DryRunOutcome = 'inserted' | 'unchanged' | { readonly conflict: string };

/**
 * A dry run of `DeviceStore.importBatch`: the outcome each device would have, with nothing
 * written. A device met earlier in the same manifest counts as stored by then, as it would
 * be in a real import: the second line is unchanged or a conflict, never inserted twice.
 * Those earlier devices are kept as field digests, not whole: about a hundred bytes a device.
 */
export class DeviceImportDryRun {
  readonly #store: DeviceStore;
  readonly #city: string;
  readonly #staged = new Map<string, string>();

  constructor(store: DeviceStore, city: string) {
    this.#store = store;
    this.#city = city;
  }

  async outcome(device: Device): Promise<DryRunOutcome> {
    const incoming = fieldDigests(device);
    const stored = await this.#store.get(this.#city, device.deviceId);
    const earlier = stored === undefined ? this.#staged.get(device.deviceId) : fieldDigests(stored);
    if (earlier === undefined) {
      this.#staged.set(device.deviceId, incoming);
      return 'inserted';
    }
    const differs = COMPARED_FIELDS.filter((_field, i) => fieldDigest(earlier, i) !== fieldDigest(incoming, i));
    return differs.length === 0 ? 'unchanged' : { conflict: `differs in: ${differs.join(', ')}` };
  }
}
