/**
 * Types for the one oidc-provider internal citymesh reuses: its DPoP proof validator.
 * Handlers registered with `registerGrantType` receive only the context, not the helpers
 * the built-in grants get, so the validator is imported directly (the package has no
 * `exports` map; the version is pinned, and the delegation tests exercise this path).
 */
declare module 'oidc-provider/lib/helpers/validate_dpop.js' {
  import type { KoaContextWithOIDC, Provider } from 'oidc-provider';

  /** A proof that verified: RFC 7638 thumbprint of its key, its `jti` and `iat`. */
  export interface ValidatedDpopProof {
    readonly thumbprint: string;
    readonly jti: string;
    readonly iat: number;
  }

  /** Verifies the request's `DPoP` header (typ, alg, htm, htu, iat, nonce); undefined when absent. */
  export default function validateDpop(
    provider: Provider,
    ctx: KoaContextWithOIDC,
  ): Promise<ValidatedDpopProof | undefined>;

  /** Records the proof's `jti` for the client; a second use throws `ErrorClass` (default invalid_grant). */
  export function checkDpopReplay(
    provider: Provider,
    ctx: KoaContextWithOIDC,
    proof: ValidatedDpopProof,
    clientId: string,
  ): Promise<void>;
}
