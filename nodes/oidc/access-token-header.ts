import { fail, KEY_SUPPLYING_HEADERS } from '../../trust-anchor/index.js';
import { ACCESS_TOKEN_TYP } from './access-token-claims.js';

/** The only algorithm the city's provider signs access tokens with (identity.md §4). */
export const ACCESS_TOKEN_ALG = 'ES256';

/** What the provider's access-token header holds, and all a verifier accepts: `{alg, typ, kid}`. */
const HEADER_MEMBERS: ReadonlySet<string> = new Set(['alg', 'typ', 'kid']);

/** `typ` without the optional `application/` prefix (RFC 7515 §4.1.9, RFC 9068 §4). */
function withoutMediaTypePrefix(typ: string): string {
  return /^application\//i.test(typ) ? typ.slice('application/'.length) : typ;
}

/**
 * The header rules of federation.md §6.1 (4–8), pinned for access tokens, in the same
 * order and with the same codes as `verifyJws`, plus one of its own: the header holds
 * nothing but `alg`, `typ` and `kid`, so no parameter this verifier ignores can change
 * what the token means to another one. Returns the `kid`.
 *
 * @throws MeshError `TOKEN_ALG_NOT_ALLOWED`, `TOKEN_HEADER_INJECTION`, `TOKEN_TYPE_MISMATCH`,
 *   `TOKEN_CRIT_UNSUPPORTED`, `TOKEN_MALFORMED` (rule `header-members`) or `TOKEN_KEY_UNKNOWN`
 */
export function checkAccessTokenHeader(header: Record<string, unknown>): string {
  const { alg, typ, kid } = header;
  // Exact case: `none` in any casing, `es256`, HS*, RS*, EdDSA are all refused here.
  if (alg !== ACCESS_TOKEN_ALG) {
    throw fail('TOKEN_ALG_NOT_ALLOWED', 'alg-allowlist', `alg ${JSON.stringify(alg) ?? 'undefined'} is not ES256`, {
      alg: typeof alg === 'string' ? alg : null,
    });
  }
  const injected = KEY_SUPPLYING_HEADERS.find((name) => Object.hasOwn(header, name));
  if (injected !== undefined) {
    throw fail(
      'TOKEN_HEADER_INJECTION',
      'key-supplying-header',
      `header "${injected}" would let the token choose its own key; keys come only from the city's key set`,
      { header: injected },
    );
  }
  if (typeof typ !== 'string' || withoutMediaTypePrefix(typ) !== ACCESS_TOKEN_TYP) {
    throw fail('TOKEN_TYPE_MISMATCH', 'typ', `typ ${JSON.stringify(typ) ?? 'undefined'} is not "${ACCESS_TOKEN_TYP}"`, {
      typ: typeof typ === 'string' ? typ : null,
      expected: ACCESS_TOKEN_TYP,
    });
  }
  if (Object.hasOwn(header, 'crit')) {
    // RFC 7515 §4.1.11: a verifier must refuse what it does not understand; this one understands no extension.
    throw fail('TOKEN_CRIT_UNSUPPORTED', 'crit', 'crit lists header extensions this verifier does not understand', {
      crit: JSON.stringify(header.crit) ?? null,
    });
  }
  for (const name of Object.keys(header)) {
    if (!HEADER_MEMBERS.has(name)) {
      throw fail('TOKEN_MALFORMED', 'header-members', `header parameter "${name}" is not part of an access token`, {
        header: name,
      });
    }
  }
  if (typeof kid !== 'string' || kid === '') {
    throw fail('TOKEN_KEY_UNKNOWN', 'kid', 'the header must name its key with a non-empty kid');
  }
  return kid;
}
