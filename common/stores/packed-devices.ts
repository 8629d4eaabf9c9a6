import { contentKey } from '../content-key.js';
import type { Device, DeviceCredential } from './device-store.js';

/*
 * The packed batches a bulk import hands `DeviceStore.importCheckedBatch`, and the text of
 * a device's JSON columns they carry. Plain data and no store code: the import's worker
 * thread packs with this alone and posts the result.
 */

/**
 * The credentials column: canonical JSON (the {@link contentKey} of the credentials with
 * dates as epoch milliseconds). For the usual shape, one JSON.stringify over members laid
 * out in sorted order: a flat string at once, where concatenating the text would leave
 * ropes of small strings for the collector to copy until the batch is written.
 */
export function credentialsColumn(credentials: readonly DeviceCredential[]): string {
  const laidOut: object[] = [];
  for (const credential of credentials) {
    const sorted = sortedCredential(credential);
    if (sorted === undefined) return contentKey(credentials.map(withMs));
    laidOut.push(sorted);
  }
  return JSON.stringify(laidOut);
}

/** The attributes column: canonical JSON, or NULL when the device has none (absent and `{}` are the same). */
export function attributesColumn(attributes: Readonly<Record<string, string>> | undefined): string | null {
  const text = attributes === undefined ? '{}' : contentKey(attributes);
  return text === '{}' ? null : text;
}

const withMs = (c: DeviceCredential) => ({ ...c, notBefore: c.notBefore.getTime(), notAfter: c.notAfter.getTime() });

const CREDENTIAL_MEMBERS: ReadonlySet<string> = new Set([
  'certificateSha256',
  'credentialId',
  'kind',
  'notAfter',
  'notBefore',
  'publicJwk',
]);
/** JWK member names sort plainly (no integer-like names, which JSON objects put first) and are never `__proto__`. */
const PLAIN_NAME = /^[A-Za-z][A-Za-z_]*$/;

/**
 * The credential as an object whose members are in contentKey's order (sorted; dates as
 * milliseconds, undefined members left out), or undefined for another shape.
 */
function sortedCredential(c: DeviceCredential | undefined): object | undefined {
  if (c === null || typeof c !== 'object') return undefined;
  for (const key of Object.keys(c)) if (!CREDENTIAL_MEMBERS.has(key)) return undefined;
  const { certificateSha256, credentialId, kind, notAfter, notBefore, publicJwk } = c;
  if (typeof credentialId !== 'string' || typeof kind !== 'string') return undefined;
  if (!(notAfter instanceof Date) || !(notBefore instanceof Date)) return undefined;
  if (certificateSha256 !== undefined && typeof certificateSha256 !== 'string') return undefined;
  const jwk = publicJwk === undefined ? undefined : sortedStrings(publicJwk);
  if (publicJwk !== undefined && jwk === undefined) return undefined;
  // Written out in sorted order; JSON.stringify leaves out the undefined ones, as contentKey does.
  return {
    certificateSha256,
    credentialId,
    kind,
    notAfter: notAfter.getTime(),
    notBefore: notBefore.getTime(),
    publicJwk: jwk,
  };
}

/** A copy of a plain object of string members with its members in sorted order, or undefined for anything else. */
function sortedStrings(value: unknown): Record<string, string> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Date) return undefined;
  const object = value as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const key of Object.keys(object).sort()) {
    const member = object[key];
    if (member === undefined) continue;
    if (typeof member !== 'string' || !PLAIN_NAME.test(key)) return undefined;
    out[key] = member;
  }
  return out;
}

/**
 * Devices of one city that a `DeviceChecker` accepted, as the text of their columns.
 * Per device, `texts` holds its deviceId and credentials column, and `refs` the indexes
 * in `words` of its type, industry, regionCode, ownerOrg and attributes column (-1: none).
 * Those five repeat over a manifest, so a batch carries each once: a worker thread posts
 * two strings a device instead of seven, and the writing thread allocates as few. Imported
 * devices are `active` and created when their batch commits.
 */
export interface PackedDevices {
  readonly city: string;
  readonly texts: readonly string[];
  readonly refs: Int32Array;
  readonly words: readonly string[];
}

/** Entries of `PackedDevices.refs` per device. */
export const PACKED_REFS = 5;

/** Builds the {@link PackedDevices} of one batch, device by device. */
export class DevicePacker {
  #texts: string[] = [];
  #refs: number[] = [];
  #words: string[] = [];
  readonly #index = new Map<string, number>();

  constructor(readonly city: string) {}

  /** Adds a device of `city` that the checker accepted. */
  add(device: Device): void {
    this.#texts.push(device.deviceId, credentialsColumn(device.credentials));
    const attributes = device.attributes === undefined ? '{}' : contentKey(device.attributes);
    this.#refs.push(
      this.#word(device.type),
      this.#word(device.industry),
      this.#word(device.regionCode),
      this.#word(device.ownerOrg),
      attributes === '{}' ? -1 : this.#word(attributes),
    );
  }

  /** The batch so far; the packer starts an empty one. */
  take(): PackedDevices {
    const packed = { city: this.city, texts: this.#texts, refs: Int32Array.from(this.#refs), words: this.#words };
    this.#texts = [];
    this.#refs = [];
    this.#words = [];
    this.#index.clear();
    return packed;
  }

  #word(text: string): number {
    let at = this.#index.get(text);
    if (at === undefined) {
      at = this.#words.length;
      this.#words.push(text);
      this.#index.set(text, at);
    }
    return at;
  }
}

export const packedCount = (packed: PackedDevices): number => packed.texts.length / 2;

/** The device id of the `i`th device of the batch. */
export const packedDeviceId = (packed: PackedDevices, i: number): string => packed.texts[2 * i] as string;

/**
 * The devices of a packed batch as objects, `active` and created at `at`: what a store
 * without a column-level path (memory) writes through `importBatch`.
 */
export function unpackDevices(packed: PackedDevices, at: Date): Device[] {
  const { city, texts, refs, words } = packed;
  const word = (i: number) => words[refs[i] as number] as string;
  const devices: Device[] = [];
  for (let i = 0; i < texts.length / 2; i++) {
    const r = i * PACKED_REFS;
    const attributes = refs[r + 4] === -1 ? undefined : (JSON.parse(word(r + 4)) as Record<string, string>);
    const credentials = (JSON.parse(texts[2 * i + 1] as string) as RawCredential[]).map((c) => ({
      ...c,
      notBefore: new Date(c.notBefore),
      notAfter: new Date(c.notAfter),
    }));
    devices.push({
      city,
      deviceId: texts[2 * i] as string,
      type: word(r),
      industry: word(r + 1),
      regionCode: word(r + 2),
      ownerOrg: word(r + 3),
      ...(attributes === undefined ? {} : { attributes }),
      credentials,
      status: 'active',
      createdAt: at,
      updatedAt: at,
    });
  }
  return devices;
}

type RawCredential = Omit<DeviceCredential, 'notBefore' | 'notAfter'> & { notBefore: number; notAfter: number };
