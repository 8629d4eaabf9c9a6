import { MeshError } from '../../common/errors/mesh-error.js';
import type { KeyPurpose, KeyStatus, StoredKey } from '../../common/stores/key-store.js';
import { clone } from './clone.js';
import { optionalDate, optionalText, requireDate, requireOneOf, requirePlainObject, requireText } from './validate.js';

export const KEY_PURPOSES: readonly KeyPurpose[] = ['federation', 'ca', 'tls', 'oidc', 'audit', 'receipt', 'device-ca'];
export const KEY_STATUSES: readonly KeyStatus[] = ['next', 'active', 'retired', 'revoked'];

/** Checks a key's shape and returns a normalised copy (no `undefined` members). */
export function validateKey(key: StoredKey): StoredKey {
  requireText('kid', key.kid);
  requireOneOf('purpose', key.purpose, KEY_PURPOSES);
  requireText('alg', key.alg);
  requireText('publicJwk.kty', requirePlainObject('publicJwk', key.publicJwk).kty);
  optionalText('privateKeyPem', key.privateKeyPem);
  optionalText('certificatePem', key.certificatePem);
  requireOneOf('status', key.status, KEY_STATUSES);
  requireDate('createdAt', key.createdAt);
  optionalDate('activatedAt', key.activatedAt);
  optionalDate('retiredAt', key.retiredAt);
  optionalDate('revokedAt', key.revokedAt);
  return clone(key);
}

/**
 * The key after moving to `to` at `at`, or the key itself when the move is a no-op
 * (revoking a revoked key). Throws `MALFORMED_REQUEST` for a move the lifecycle forbids.
 */
export function transitionKey(key: StoredKey, to: KeyStatus, at: Date): StoredKey {
  requireOneOf('status', to, KEY_STATUSES);
  requireDate('at', at);
  if (to === 'revoked') return key.status === 'revoked' ? key : { ...key, status: 'revoked', revokedAt: at };
  if (key.status === 'next' && to === 'active') return { ...key, status: 'active', activatedAt: at };
  if (key.status === 'active' && to === 'retired') return { ...key, status: 'retired', retiredAt: at };
  throw new MeshError('MALFORMED_REQUEST', `key ${key.kid}: transition ${key.status} → ${to} is not allowed`, {
    details: { field: 'status', kid: key.kid, from: key.status, to },
  });
}

export function keyNotFound(kid: string): MeshError {
  return new MeshError('KEY_NOT_FOUND', `no key with kid ${kid}`, { details: { kid } });
}
