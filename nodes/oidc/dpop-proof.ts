import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import validateDpop, { checkDpopReplay, type ValidatedDpopProof } from 'oidc-provider/lib/helpers/validate_dpop.js';

export type { ValidatedDpopProof };

/**
 * The request's DPoP proof (RFC 9449 §4.3), checked by oidc-provider's own validator and
 * recorded against replay for the authenticated client, or undefined when the request
 * carries none. Reusing the library's checks keeps custom grants exactly as strict as
 * the built-in ones (htm, htu, iat window, alg allowlist, single use).
 */
export async function dpopProofOf(
  provider: Provider,
  ctx: KoaContextWithOIDC,
  clientId: string,
): Promise<ValidatedDpopProof | undefined> {
  const proof = await validateDpop(provider, ctx);
  if (proof !== undefined) await checkDpopReplay(provider, ctx, proof, clientId);
  return proof;
}
