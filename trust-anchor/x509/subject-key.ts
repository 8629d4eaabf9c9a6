import { createPublicKey, type KeyObject } from 'node:crypto';
import type { MeshError } from '../../common/errors/mesh-error.js';
import { type CryptoKey, EC_KEY_ALGORITHM, subtle } from './provider.js';

/** Keys a citymesh certificate may certify: ECDSA P-256 everywhere, Ed25519 for devices. */
export type SubjectKeyAlgorithm = 'P-256' | 'Ed25519';

/** WebCrypto import parameters of each subject key algorithm. */
const IMPORT_PARAMETERS = { 'P-256': EC_KEY_ALGORITHM, Ed25519: { name: 'Ed25519' } } as const;

const DESCRIPTION: Readonly<Record<SubjectKeyAlgorithm, string>> = { 'P-256': 'P-256 ECDSA', Ed25519: 'Ed25519' };

/** The algorithm of a public key OpenSSL decoded, or undefined for any key citymesh does not certify. */
export function subjectKeyAlgorithmOf(key: KeyObject): SubjectKeyAlgorithm | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'Ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'P-256';
  return undefined;
}

/** `a P-256 ECDSA public key`, `a P-256 ECDSA or Ed25519 public key`: for messages. */
export function describeKeyAlgorithms(allowed: readonly SubjectKeyAlgorithm[]): string {
  return `a ${allowed.map((a) => DESCRIPTION[a]).join(' or ')} public key`;
}

/**
 * Imports an SPKI public key for certification, refusing any algorithm outside `allowed`.
 * OpenSSL names the algorithm; WebCrypto then imports it (which also proves a P-256 point
 * lies on the curve).
 *
 * @param refuse builds the error for a key that is not one of `allowed`
 */
export async function importSubjectKey(
  spki: Uint8Array | ArrayBuffer,
  allowed: readonly SubjectKeyAlgorithm[],
  refuse: (what: string, cause?: unknown) => MeshError,
): Promise<{ publicKey: CryptoKey; algorithm: SubjectKeyAlgorithm }> {
  const bytes = Buffer.from(spki instanceof ArrayBuffer ? new Uint8Array(spki) : spki);
  let algorithm: SubjectKeyAlgorithm | undefined;
  try {
    algorithm = subjectKeyAlgorithmOf(createPublicKey({ key: bytes, format: 'der', type: 'spki' }));
  } catch (cause) {
    throw refuse(`must carry ${describeKeyAlgorithms(allowed)}`, cause);
  }
  if (algorithm === undefined || !allowed.includes(algorithm)) {
    throw refuse(
      `must carry ${describeKeyAlgorithms(allowed)}${algorithm === undefined ? '' : `, not ${DESCRIPTION[algorithm]}`}`,
    );
  }
  try {
    return {
      publicKey: await subtle.importKey('spki', bytes, IMPORT_PARAMETERS[algorithm], true, ['verify']),
      algorithm,
    };
  } catch (cause) {
    throw refuse(`must carry ${describeKeyAlgorithms(allowed)}`, cause);
  }
}
