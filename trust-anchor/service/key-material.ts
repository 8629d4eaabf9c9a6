import { MeshError } from '../../common/errors/mesh-error.js';
import type { KeyPurpose, KeyStatus, KeyStore, PublicJwk, StoredKey } from '../../common/stores/index.js';
import type { FederationSigningKey } from '../federation/index.js';
import {
  type EcKeyPair,
  exportPrivateKeyPem,
  exportPublicJwk,
  generateEcKeyPair,
  importPrivateKeyPem,
} from '../x509/index.js';

/** A stored key with its usable pair (private keys are imported once, then reused). */
export interface LoadedKey {
  readonly stored: StoredKey;
  readonly pair: EcKeyPair;
}

/** Generates a P-256 key and stores it under `purpose` with `status`. */
export async function createKey(
  keys: KeyStore,
  input: { purpose: KeyPurpose; status: KeyStatus; now: Date; certificatePem?: (pair: EcKeyPair) => Promise<string> },
): Promise<LoadedKey> {
  const pair = await generateEcKeyPair();
  const jwk = await exportPublicJwk(pair.publicKey);
  const stored: StoredKey = {
    kid: pair.kid,
    purpose: input.purpose,
    alg: 'ES256',
    publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: jwk.kid, alg: jwk.alg },
    privateKeyPem: await exportPrivateKeyPem(pair),
    ...(input.certificatePem ? { certificatePem: await input.certificatePem(pair) } : {}),
    status: input.status,
    createdAt: input.now,
    ...(input.status === 'active' ? { activatedAt: input.now } : {}),
  };
  await keys.put(stored);
  return { stored, pair };
}

/** Imports a stored key's private half. */
export async function loadKey(stored: StoredKey): Promise<LoadedKey> {
  if (stored.privateKeyPem === undefined) {
    throw new MeshError('KEY_NOT_FOUND', `key ${stored.kid} has no private key in this store`, {
      details: { kid: stored.kid },
    });
  }
  return { stored, pair: await importPrivateKeyPem(stored.privateKeyPem) };
}

/** Every key of `purpose` with `status`, oldest first. */
export async function keysWith(keys: KeyStore, purpose: KeyPurpose, status: KeyStatus): Promise<readonly StoredKey[]> {
  const page = await keys.list({ purpose, status }, { pageSize: 1000 });
  return [...page.items].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}

/** The one active key of `purpose`, loaded. */
export async function activeKey(keys: KeyStore, purpose: KeyPurpose): Promise<LoadedKey> {
  const active = await keysWith(keys, purpose, 'active');
  const newest = active.at(-1);
  if (newest === undefined) {
    throw new MeshError('KEY_NOT_FOUND', `no active ${purpose} key in the store; was \`citymesh anchor init\` run?`, {
      details: { purpose },
    });
  }
  return loadKey(newest);
}

/** A loaded key as the federation signer wants it. */
export function signingKey(key: LoadedKey): FederationSigningKey {
  return { kid: key.stored.kid, privateKey: key.pair.privateKey, alg: 'ES256' };
}

/** A stored key as it is published (entity configuration, metadata, enrolment): a signing JWK. */
export function publishedJwk(key: StoredKey): PublicJwk {
  return { ...key.publicJwk, kid: key.kid, alg: key.alg, use: 'sig' };
}
