import { createPublicKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { MeshError } from '../../../common/errors/mesh-error.js';
import type { DeviceCredential } from '../../../common/stores/device-store.js';
import { fail } from '../../../trust-anchor/index.js';
import { VerifiedTokenCache } from '../../oidc/verified-token-cache.js';
import type { DeviceTokenAlg } from './device-token-header.js';

/** Imported credential keys kept by default: ~2.8 KiB each, so about 55 MiB. */
export const DEFAULT_DEVICE_KEY_CACHE_ENTRIES = 20_000;

/** A credential's key as node:crypto uses it, and the one algorithm it may verify. */
export interface DeviceKey {
  readonly alg: DeviceTokenAlg;
  readonly key: KeyObject;
}

/** The JWK members that make a key and say how it may be used: what a cached key is compared on. */
const MATERIAL = ['kty', 'crv', 'x', 'y', 'alg', 'use'] as const;

/** What the cache keeps per credential: the key (or why it is unusable) and the members it came from. */
interface Entry {
  readonly material: readonly unknown[];
  readonly key: DeviceKey | MeshError;
}

/** Compared member by member rather than through a joined string: this runs on every token. */
function sameMaterial(entry: Entry, jwk: Readonly<Record<string, unknown>>): boolean {
  for (let i = 0; i < MATERIAL.length; i++) if (entry.material[i] !== jwk[MATERIAL[i]!]) return false;
  return true;
}

/**
 * The key type decides the algorithm (device-identity.md §5.2 rule 16): P-256 only ES256,
 * Ed25519 only EdDSA. A JWK that says otherwise with its own `alg` or `use`, or any other
 * key type, cannot verify a device token.
 */
function importCredentialKey(credentialId: string, jwk: Readonly<Record<string, unknown>>): DeviceKey | MeshError {
  const alg: DeviceTokenAlg | undefined =
    jwk.kty === 'EC' && jwk.crv === 'P-256'
      ? 'ES256'
      : jwk.kty === 'OKP' && jwk.crv === 'Ed25519'
        ? 'EdDSA'
        : undefined;
  if (alg === undefined || (jwk.alg !== undefined && jwk.alg !== alg) || (jwk.use !== undefined && jwk.use !== 'sig')) {
    return fail(
      'TOKEN_KEY_UNKNOWN',
      'key-unusable',
      `credential "${credentialId}" is not an EC P-256 (ES256) or OKP Ed25519 (EdDSA) signing key`,
      { kid: credentialId },
    );
  }
  try {
    // Only the public members: a registry that kept a private `d` leaks nothing into verification.
    const members =
      alg === 'ES256' ? { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } : { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
    return { alg, key: createPublicKey({ key: members as JWK & { kty: string }, format: 'jwk' }) };
  } catch (err) {
    return fail(
      'TOKEN_KEY_UNKNOWN',
      'key-unusable',
      `credential "${credentialId}" does not import as a public key`,
      { kid: credentialId },
      err,
    );
  }
}

/**
 * Keys of device credentials, imported once (STACK-NOTES: an import costs as much as a
 * verification). Entries are keyed by (device, credential) and hold the key material they
 * were imported from: a credential replaced under the same id is re-imported, never
 * served stale. The cache holds keys only, never a device's status, so suspending or
 * revoking a device needs no invalidation here. Bounded, with the CLOCK eviction of
 * {@link VerifiedTokenCache}; an entry may go once its credential's `notAfter` has passed.
 */
export class DeviceKeyCache {
  readonly #cache: VerifiedTokenCache<Entry>;

  /** @param maxEntries most keys kept; 0 imports on every use */
  constructor(maxEntries = DEFAULT_DEVICE_KEY_CACHE_ENTRIES) {
    this.#cache = new VerifiedTokenCache(maxEntries);
  }

  get size(): number {
    return this.#cache.size;
  }

  clear(): void {
    this.#cache.clear();
  }

  /**
   * The key of a `jwk` credential of `deviceId`, imported on first use.
   *
   * @throws MeshError `TOKEN_KEY_UNKNOWN` (rule `key-unusable`) when the credential holds no usable key
   */
  keyOf(deviceId: string, credential: DeviceCredential, nowSeconds: number): DeviceKey {
    const jwk: Readonly<Record<string, unknown>> = credential.publicJwk ?? {};
    const id = `${deviceId}\n${credential.credentialId}`;
    let entry = this.#cache.get(id);
    if (entry === undefined || !sameMaterial(entry, jwk)) {
      entry = { material: MATERIAL.map((name) => jwk[name]), key: importCredentialKey(credential.credentialId, jwk) };
      this.#cache.set(id, entry, credential.notAfter.getTime() / 1000, nowSeconds);
    }
    if (entry.key instanceof MeshError) {
      // A fresh error each time: the cached one's stack would point at another request.
      throw new MeshError(entry.key.code, entry.key.message, { details: entry.key.details, cause: entry.key.cause });
    }
    return entry.key;
  }
}
