import { createPrivateKey, type JsonWebKey } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import type { KeyStore, StoredKey } from '../../common/stores/index.js';
import { createKey, keysWith } from '../../trust-anchor/index.js';

/**
 * The provider's signing JWKS from the node's `oidc` keys (P-256, ES256), creating one
 * active key when the store has none. Order matters: oidc-provider signs with the first
 * key that fits the algorithm, so the newest active key comes first; `next` keys are
 * published ahead of activation so verifiers can cache them; retired keys stay published
 * so tokens they signed still verify until they expire. Revoked keys are dropped.
 */
export async function oidcSigningJwks(keys: KeyStore, clock: Clock): Promise<{ keys: JsonWebKey[] }> {
  let active = await keysWith(keys, 'oidc', 'active');
  if (active.length === 0) {
    await createKey(keys, { purpose: 'oidc', status: 'active', now: clock.now() });
    active = await keysWith(keys, 'oidc', 'active');
  }
  const ordered: StoredKey[] = [
    ...[...active].reverse(),
    ...(await keysWith(keys, 'oidc', 'next')),
    ...(await keysWith(keys, 'oidc', 'retired')),
  ];
  return {
    keys: ordered
      .filter((k) => k.privateKeyPem !== undefined && k.alg === 'ES256')
      .map((k) => ({
        ...createPrivateKey(k.privateKeyPem!).export({ format: 'jwk' }),
        kid: k.kid,
        alg: 'ES256',
        use: 'sig',
      })),
  };
}
