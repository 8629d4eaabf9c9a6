import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { fail } from './failure.js';
import { publicKeyObject } from './jws-native.js';
import type { FederationAlgorithm, JwkSet } from './types.js';

/** JWK members that only private or symmetric keys have (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** The key type and curve each allowed algorithm needs (RFC 7518 §3.4, RFC 8037 §3.1). */
const KEY_SHAPE: Readonly<Record<FederationAlgorithm, { kty: string; crv: string }>> = {
  ES256: { kty: 'EC', crv: 'P-256' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
};

/** True when `jwk` carries private or symmetric key material. */
export function hasPrivateMembers(jwk: object): boolean {
  return PRIVATE_MEMBERS.some((member) => member in jwk);
}

/**
 * The public part of a JWK: the members that identify and describe a public key, nothing
 * else. Pins and statements only ever carry these.
 */
export function publicJwk(jwk: JWK): JWK {
  const out: Record<string, unknown> = {};
  for (const member of ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use', 'key_ops'] as const) {
    if (jwk[member] !== undefined) out[member] = jwk[member];
  }
  return out as JWK;
}

/** The members that make up the key itself (RFC 7638 §3.2), whatever its `kid`, `alg` or `use`. */
const KEY_MATERIAL_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

/** True when two JWKs hold the same public key: two JWKs with one `kid` are one key only if this holds. */
export function sameKeyMaterial(a: JWK, b: JWK): boolean {
  return KEY_MATERIAL_MEMBERS.every((member) => a[member] === b[member]);
}

/**
 * Finds the one key named `kid` in `keys`.
 *
 * @throws MeshError `TOKEN_KEY_UNKNOWN` (rules `kid-unknown`, `kid-ambiguous`)
 */
export function findKey(keys: JwkSet, kid: string): JWK {
  const matches = keys.keys.filter((key) => key.kid === kid);
  if (matches.length === 0) throw fail('TOKEN_KEY_UNKNOWN', 'kid-unknown', `no trusted key has kid "${kid}"`, { kid });
  if (matches.length > 1)
    throw fail('TOKEN_KEY_UNKNOWN', 'kid-ambiguous', `several trusted keys have kid "${kid}"`, { kid });
  return matches[0]!;
}

/**
 * Checks that `jwk` may verify `alg`: its type and curve fit, and its own `alg`, `use` and
 * `key_ops`, when present, allow it (RFC 7517 §4.2–4.4).
 *
 * @throws MeshError `TOKEN_ALG_NOT_ALLOWED` (rule `key-alg-mismatch`) or `TOKEN_KEY_UNKNOWN` (rule `key-use`)
 */
export function assertKeyFits(jwk: JWK, alg: FederationAlgorithm): void {
  const shape = KEY_SHAPE[alg];
  const kid = jwk.kid ?? null;
  if (jwk.kty !== shape.kty || jwk.crv !== shape.crv || (jwk.alg !== undefined && jwk.alg !== alg)) {
    throw fail('TOKEN_ALG_NOT_ALLOWED', 'key-alg-mismatch', `key "${kid}" cannot verify ${alg}`, { kid, alg });
  }
  if ((jwk.use !== undefined && jwk.use !== 'sig') || (jwk.key_ops !== undefined && !jwk.key_ops.includes('verify'))) {
    throw fail('TOKEN_KEY_UNKNOWN', 'key-use', `key "${kid}" is not a signature verification key`, { kid });
  }
}

/**
 * The public part of `jwk` as a node:crypto KeyObject for `alg`, imported once per JWK
 * object so that long-lived pins are imported once (the key {@link verifyJws} checks
 * signatures with, natively or through jose).
 *
 * @throws MeshError `TOKEN_KEY_UNKNOWN` (rule `key-unusable`) when the key does not import
 */
export function nativeVerificationKey(jwk: JWK, alg: FederationAlgorithm): KeyObject {
  try {
    return publicKeyObject(jwk, alg);
  } catch (err) {
    throw fail(
      'TOKEN_KEY_UNKNOWN',
      'key-unusable',
      `key "${jwk.kid ?? null}" is not a usable ${alg} public key`,
      { kid: jwk.kid ?? null },
      err,
    );
  }
}
