import { createPublicKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { JwkSet } from '../../trust-anchor/index.js';
import { assertKeyFits, fail } from '../../trust-anchor/index.js';

/** A `kid` of the set: its imported key, or why it cannot verify (§6.1 rules 9–10), decided once. */
export type KeyEntry = KeyObject | MeshError;

/** A JWK Set imported once: what the verifier looks `kid`s up in. */
export interface ImportedKeys {
  /** The set object it was built from; a different object is checked for changes. */
  readonly source: JwkSet;
  /** The public key material of every key, in order: equal fingerprints mean the same keys. */
  readonly fingerprint: string;
  readonly byKid: ReadonlyMap<string, KeyEntry>;
}

/** What identifies the keys and how each may be used; anything else (`d`, `x5c`, …) does not count. */
export function keySetFingerprint(set: JwkSet): string {
  return JSON.stringify(
    set.keys.map(({ kid, kty, crv, x, y, alg, use, key_ops }) => [kid, kty, crv, x, y, alg, use, key_ops]),
  );
}

/**
 * Imports every key as a node:crypto `KeyObject` for ES256 (STACK-NOTES: re-importing per
 * call costs 3–5×). Only the public members are imported, so a supplier that hands over
 * the provider's private JWKs leaks nothing into verification. A key that is the wrong
 * type, may not verify, does not import, or shares its `kid` with another is kept as the
 * failure it causes, raised only when a token names it: one odd key does not break the set.
 *
 * @throws TypeError when `set` is not a JWK Set
 */
export function importKeySet(set: JwkSet): ImportedKeys {
  if (typeof set !== 'object' || set === null || !Array.isArray(set.keys)) {
    throw new TypeError('the key supplier must return a JWK Set ({ keys: JWK[] })');
  }
  const byKid = new Map<string, KeyEntry>();
  for (const jwk of set.keys) {
    if (typeof jwk?.kid !== 'string' || jwk.kid === '') continue;
    const kid = jwk.kid;
    byKid.set(
      kid,
      byKid.has(kid)
        ? fail('TOKEN_KEY_UNKNOWN', 'kid-ambiguous', `several trusted keys have kid "${kid}"`, { kid })
        : importOne(jwk),
    );
  }
  return { source: set, fingerprint: keySetFingerprint(set), byKid };
}

function importOne(jwk: JWK): KeyEntry {
  try {
    assertKeyFits(jwk, 'ES256');
  } catch (err) {
    if (err instanceof MeshError) return err;
    throw err;
  }
  try {
    const { kty, crv, x, y } = jwk;
    return createPublicKey({ key: { kty, crv, x, y } as JWK & { kty: string }, format: 'jwk' });
  } catch (err) {
    return fail(
      'TOKEN_KEY_UNKNOWN',
      'key-unusable',
      `key "${jwk.kid}" is not a usable ES256 public key`,
      { kid: jwk.kid ?? null },
      err,
    );
  }
}
