import { calculateJwkThumbprint } from 'jose';
import { MeshError } from '../../common/errors/mesh-error.js';
import { decodeSinglePem, encodePem, PEM_LABEL } from './pem.js';
import { type CryptoKey, EC_KEY_ALGORITHM, subtle } from './provider.js';

/**
 * A P-256 ECDSA key pair with its key id. Both keys are extractable so the private key
 * can be written to the anchor's key file (PKCS#8) and the public key published as a JWK.
 */
export interface EcKeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** RFC 7638 JWK SHA-256 thumbprint of the public key (base64url). */
  readonly kid: string;
}

/** The public JWK of an {@link EcKeyPair}: only the RFC 7518 §6.2.1 members, plus `kid` and `alg`. */
export interface PublicEcJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
  readonly kid: string;
  readonly alg: 'ES256';
}

const SIGN_VERIFY = ['sign', 'verify'] as const;

function isP256Jwk(jwk: {
  kty?: string;
  crv?: string;
  x?: string;
  y?: string;
}): jwk is { kty: 'EC'; crv: 'P-256'; x: string; y: string } {
  return jwk.kty === 'EC' && jwk.crv === 'P-256' && typeof jwk.x === 'string' && typeof jwk.y === 'string';
}

async function publicMembers(publicKey: CryptoKey): Promise<{ kty: 'EC'; crv: 'P-256'; x: string; y: string }> {
  const jwk = await subtle.exportKey('jwk', publicKey);
  if (!isP256Jwk(jwk)) {
    throw new TypeError('publicKey must be an extractable P-256 ECDSA public key');
  }
  // RFC 7638 §3.2: the thumbprint covers exactly the required members, so keep only those.
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/**
 * RFC 7638 JWK thumbprint (SHA-256, base64url) of a P-256 or Ed25519 public key: the `kid`
 * citymesh uses (for Ed25519 over `crv`, `kty`, `x`, RFC 8037 §2).
 */
export async function keyIdOf(publicKey: CryptoKey): Promise<string> {
  if (publicKey.algorithm.name === 'Ed25519') {
    const { crv, x } = await subtle.exportKey('jwk', publicKey);
    if (crv !== 'Ed25519' || typeof x !== 'string') throw new TypeError('publicKey must be an extractable Ed25519 key');
    return calculateJwkThumbprint({ kty: 'OKP', crv, x }, 'sha256');
  }
  return calculateJwkThumbprint(await publicMembers(publicKey), 'sha256');
}

/** Generates a fresh, extractable P-256 ECDSA key pair (WebCrypto). */
export async function generateEcKeyPair(): Promise<EcKeyPair> {
  const pair = await subtle.generateKey(EC_KEY_ALGORITHM, true, [...SIGN_VERIFY]);
  return Object.freeze({ privateKey: pair.privateKey, publicKey: pair.publicKey, kid: await keyIdOf(pair.publicKey) });
}

/** Exports the private key as a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, RFC 5958 / RFC 7468 §10). */
export async function exportPrivateKeyPem(keys: Pick<EcKeyPair, 'privateKey'>): Promise<string> {
  return encodePem(await subtle.exportKey('pkcs8', keys.privateKey), PEM_LABEL.privateKey);
}

/**
 * Imports a PKCS#8 PEM P-256 private key and rebuilds its public key (from the JWK
 * `x`/`y` that WebCrypto exports with the private key), so the pair and `kid` are complete.
 *
 * @param field reported in `details.field` when the PEM is refused
 * @throws MeshError `MALFORMED_REQUEST` when the PEM is not one PKCS#8 P-256 key
 */
export async function importPrivateKeyPem(pem: string, field = 'privateKeyPem'): Promise<EcKeyPair> {
  const der = decodeSinglePem(pem, PEM_LABEL.privateKey, { field, code: 'MALFORMED_REQUEST' });
  let privateKey: CryptoKey;
  try {
    privateKey = await subtle.importKey('pkcs8', der, EC_KEY_ALGORITHM, true, ['sign']);
  } catch (cause) {
    throw new MeshError('MALFORMED_REQUEST', `${field} is not a PKCS#8 P-256 ECDSA private key`, {
      details: { field, rule: 'key-algorithm' },
      cause,
    });
  }
  const { kty, crv, x, y } = await subtle.exportKey('jwk', privateKey);
  const publicKey = await subtle.importKey('jwk', { kty, crv, x, y }, EC_KEY_ALGORITHM, true, ['verify']);
  return Object.freeze({ privateKey, publicKey, kid: await keyIdOf(publicKey) });
}

/** Exports a public key as an SPKI PEM (`-----BEGIN PUBLIC KEY-----`). */
export async function exportPublicKeyPem(publicKey: CryptoKey): Promise<string> {
  return encodePem(await subtle.exportKey('spki', publicKey), PEM_LABEL.publicKey);
}

/**
 * Imports an SPKI PEM P-256 public key (extractable, for `verify`).
 *
 * @throws MeshError `MALFORMED_REQUEST` when the PEM is not one P-256 public key
 */
export async function importPublicKeyPem(pem: string, field = 'publicKeyPem'): Promise<CryptoKey> {
  const der = decodeSinglePem(pem, PEM_LABEL.publicKey, { field, code: 'MALFORMED_REQUEST' });
  try {
    return await subtle.importKey('spki', der, EC_KEY_ALGORITHM, true, ['verify']);
  } catch (cause) {
    throw new MeshError('MALFORMED_REQUEST', `${field} is not a P-256 ECDSA public key`, {
      details: { field, rule: 'key-algorithm' },
      cause,
    });
  }
}

/** The public JWK of a key, with `kid` (RFC 7638 thumbprint) and `alg: 'ES256'`. */
export async function exportPublicJwk(publicKey: CryptoKey): Promise<PublicEcJwk> {
  const members = await publicMembers(publicKey);
  return Object.freeze({ ...members, kid: await calculateJwkThumbprint(members, 'sha256'), alg: 'ES256' });
}
