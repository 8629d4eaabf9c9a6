import { writeFileSync } from 'node:fs';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { nodePath } from '../nodes/index.js';

/**
 * The wrong-anchor-key drill: the city's pinned anchor keys become one freshly generated
 * key the anchor never had, as if the operator pinned the wrong file. From then on
 * nothing the anchor signs verifies for that city (not even its own cached metadata),
 * which the trust matrix, the failed check and the exit code must all show.
 *
 * @returns the kid of the key now pinned
 */
export async function pinWrongAnchorKey(cityDir: string): Promise<string> {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const keys = { keys: [{ ...jwk, alg: 'ES256', kid, use: 'sig' }] };
  writeFileSync(nodePath(cityDir, 'pins'), `${JSON.stringify(keys, null, 2)}\n`);
  return kid;
}
