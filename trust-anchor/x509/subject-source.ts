import { MeshError } from '../../common/errors/mesh-error.js';
import { parseCsr } from './csr.js';
import { LEAF_PROFILES, type LeafProfile } from './leaf-profile.js';
import { refuse } from './profile.js';
import { type CryptoKey, subtle } from './provider.js';
import { importSubjectKey } from './subject-key.js';

/** Where the certified public key comes from: a CSR (proof of possession checked) or a key the caller already trusts. */
export type SubjectKeySource =
  | { readonly csrPem: string; readonly publicKey?: undefined }
  | { readonly publicKey: CryptoKey; readonly csrPem?: undefined };

/** The key to certify, of a kind the profile accepts (CA and TLS server certificates: the `node` profile's P-256). */
export async function subjectKey(
  source: SubjectKeySource,
  profile: LeafProfile = 'node',
): Promise<{ publicKey: CryptoKey; requestedUris: readonly string[] | null }> {
  if (source.csrPem !== undefined && source.publicKey !== undefined) {
    throw new TypeError('pass either csrPem or publicKey, not both');
  }
  if (source.csrPem !== undefined) {
    const csr = await parseCsr(source.csrPem, { profile });
    return { publicKey: csr.publicKey, requestedUris: csr.uris };
  }
  if (source.publicKey === undefined) throw new TypeError('csrPem or publicKey is required');
  // Re-import through SPKI: the key's bytes decide what it is, whatever the CryptoKey says.
  const { publicKey } = await importSubjectKey(
    await subtle.exportKey('spki', source.publicKey),
    LEAF_PROFILES[profile].keyAlgorithms,
    (what, cause) =>
      new MeshError('MALFORMED_REQUEST', `publicKey ${what} (${profile} profile)`, {
        details: { field: 'publicKey', rule: 'key-algorithm' },
        cause,
      }),
  );
  return { publicKey, requestedUris: null };
}

/** A CSR may name what it expects; the issuer refuses to hand out a different identity. */
export function checkRequestedUri(requested: readonly string[] | null, uri: string): void {
  if (requested === null || requested.length === 0) return;
  if (requested.length !== 1 || requested[0] !== uri) {
    throw refuse('MALFORMED_REQUEST', `csrPem requests ${requested.join(', ')}, but ${uri} is being issued`, {
      field: 'csrPem',
      rule: 'csr-spiffe-id',
    });
  }
}
