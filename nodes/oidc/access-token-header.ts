import { ACCESS_TOKEN_TYP } from './access-token-claims.js';
import { checkPinnedHeader, type HeaderProfile } from './token-rules.js';

/** The only algorithm the city's provider signs access tokens with (identity.md §4). */
export const ACCESS_TOKEN_ALG = 'ES256';

const PROFILE: HeaderProfile = {
  algs: new Set([ACCESS_TOKEN_ALG]),
  typ: ACCESS_TOKEN_TYP,
  token: 'an access token',
  keySource: "the city's key set",
};

/**
 * The header rules of federation.md §6.1 (4–8), pinned for access tokens (ES256, `at+jwt`,
 * nothing but `alg`, `typ` and `kid`). Returns the `kid`.
 *
 * @throws MeshError as {@link checkPinnedHeader}
 */
export function checkAccessTokenHeader(header: Record<string, unknown>): string {
  return checkPinnedHeader(header, PROFILE).kid;
}
