import { createHash, createPublicKey, type JsonWebKey } from 'node:crypto';

/*
 * Device keys are EC P-256 (ES256, RFC 7518 §6.2.1) or OKP Ed25519 (EdDSA, RFC 8037 §2).
 * The shape check below runs on every manifest line, so it is a handful of property reads
 * and one regular expression per coordinate; whether the point is on the curve costs a key
 * import (~60 µs) and is left to single registrations and to authentication.
 */

/** A base64url encoding of exactly 32 bytes: 43 characters, the last one carrying 2 zero bits. */
const COORDINATE_32 = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** Members that only a private or symmetric JWK carries (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

const EC_MEMBERS: ReadonlySet<string> = new Set(['kty', 'crv', 'x', 'y', 'alg', 'use', 'kid', 'key_ops']);
const OKP_MEMBERS: ReadonlySet<string> = new Set(['kty', 'crv', 'x', 'alg', 'use', 'kid', 'key_ops']);

/** Why a JWK is not a device's public key: the member at fault and what is wrong. */
export interface JwkProblem {
  /** The JWK member (`x`, `crv`), or empty for the JWK as a whole. */
  readonly member: string;
  readonly message: string;
}

const problem = (member: string, message: string): JwkProblem => ({ member, message });

/**
 * Checks that `value` is the public JWK of a device key: EC P-256 or OKP Ed25519, with
 * coordinates of the right length, no private member and no member outside RFC 7517/7518.
 * Returns undefined when it is, the first problem otherwise.
 */
export function publicJwkProblem(value: unknown): JwkProblem | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return problem('', 'must be a JSON object');
  const jwk = value as Record<string, unknown>;
  for (const member of PRIVATE_MEMBERS) {
    if (jwk[member] !== undefined) {
      return problem(member, `holds private key material ("${member}"): a manifest carries public keys only`);
    }
  }
  let allowed: ReadonlySet<string>;
  if (jwk.kty === 'EC') {
    if (jwk.crv !== 'P-256') return problem('crv', 'an EC device key must be on curve P-256 (ES256)');
    if (typeof jwk.x !== 'string' || !COORDINATE_32.test(jwk.x)) return problem('x', 'must be 32 bytes, base64url');
    if (typeof jwk.y !== 'string' || !COORDINATE_32.test(jwk.y)) return problem('y', 'must be 32 bytes, base64url');
    if (jwk.alg !== undefined && jwk.alg !== 'ES256') return problem('alg', 'must be ES256 for a P-256 key');
    allowed = EC_MEMBERS;
  } else if (jwk.kty === 'OKP') {
    if (jwk.crv !== 'Ed25519') return problem('crv', 'an OKP device key must be Ed25519 (EdDSA)');
    if (typeof jwk.x !== 'string' || !COORDINATE_32.test(jwk.x)) return problem('x', 'must be 32 bytes, base64url');
    if (jwk.alg !== undefined && jwk.alg !== 'EdDSA' && jwk.alg !== 'Ed25519') {
      return problem('alg', 'must be EdDSA (or Ed25519) for an Ed25519 key');
    }
    allowed = OKP_MEMBERS;
  } else {
    return problem('kty', 'must be "EC" (P-256) or "OKP" (Ed25519)');
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') return problem('use', 'must be "sig": device keys only sign');
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') return problem('kid', 'must be a string');
  if (jwk.key_ops !== undefined) {
    const ops = jwk.key_ops;
    if (!Array.isArray(ops) || ops.length !== 1 || ops[0] !== 'verify') {
      return problem('key_ops', 'must be ["verify"] when present');
    }
  }
  for (const member in jwk) {
    if (!allowed.has(member)) return problem(member, `is not a member of a ${jwk.kty} public key`);
  }
  return undefined;
}

/**
 * The full check for one key at a time (registration, rotation): the shape, then whether
 * node:crypto accepts it, which also proves an EC point lies on P-256.
 */
export function publicKeyProblem(value: unknown): JwkProblem | undefined {
  const shape = publicJwkProblem(value);
  if (shape !== undefined) return shape;
  try {
    createPublicKey({ key: value as JsonWebKey, format: 'jwk' });
    return undefined;
  } catch {
    return problem('', 'is not a valid public key (the point is not on the curve)');
  }
}

/**
 * The RFC 7638 thumbprint (SHA-256, base64url) of a checked device key: the required
 * members in lexicographic order, no whitespace. The default credential id.
 */
export function jwkThumbprint(jwk: { readonly kty: string; readonly [member: string]: unknown }): string {
  const members =
    jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}
