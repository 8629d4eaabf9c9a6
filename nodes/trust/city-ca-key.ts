import { X509Certificate } from 'node:crypto';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { KeyStore } from '../../common/stores/index.js';
import { keysWith, type LoadedKey, loadKey } from '../../trust-anchor/index.js';
import { readNodeFile } from './node-files.js';

/**
 * The city CA certificate and the key that goes with it. Matched by public key rather
 * than by status, so a renewal interrupted between writing the certificate and
 * activating its key still pairs them correctly.
 */
export async function cityCaKey(dir: string, keys: KeyStore): Promise<{ key: LoadedKey; certificatePem: string }> {
  const certificatePem = readNodeFile(dir, 'cityCa');
  const x = new X509Certificate(certificatePem).publicKey.export({ format: 'jwk' }).x;
  const candidates = [...(await keysWith(keys, 'ca', 'active')), ...(await keysWith(keys, 'ca', 'next'))];
  const stored = candidates.find((k) => k.publicJwk.x === x);
  if (stored === undefined) {
    throw new MeshError(
      'KEY_NOT_FOUND',
      `no CA key in ${dir} matches its city CA certificate; re-join the cluster`,
      {},
    );
  }
  return { key: await loadKey(stored), certificatePem };
}
