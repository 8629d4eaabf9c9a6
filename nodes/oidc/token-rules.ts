import type { MeshError } from '../../common/errors/mesh-error.js';
import { fail, KEY_SUPPLYING_HEADERS } from '../../trust-anchor/index.js';

/**
 * The header and time rules every pinned-profile JWT verifier of a node applies (city
 * access tokens, device tokens), in the order and with the codes of federation.md §6.1:
 * one copy, so the two verifiers cannot drift apart.
 */

/** What one token profile pins in its header. */
export interface HeaderProfile {
  /** Algorithms accepted, exact case. */
  readonly algs: ReadonlySet<string>;
  /** The `typ`, without the optional `application/` prefix. */
  readonly typ: string;
  /** "an access token": how messages name the token. */
  readonly token: string;
  /** Where keys come from, for the header-injection message. */
  readonly keySource: string;
}

/** A token's header carries exactly these. */
const HEADER_MEMBERS: ReadonlySet<string> = new Set(['alg', 'typ', 'kid']);

/** `typ` without the optional `application/` prefix (RFC 7515 §4.1.9). */
function withoutMediaTypePrefix(typ: string): string {
  return /^application\//i.test(typ) ? typ.slice('application/'.length) : typ;
}

/**
 * Header rules 4–9: `alg` in the profile (exact case: `none` in any casing, `es256`, HS*
 * are refused), no key-supplying member, the profile's `typ`, no `crit`, nothing but
 * `alg`, `typ` and `kid` (so no parameter this verifier ignores can change what the token
 * means to another), and a non-empty `kid`.
 *
 * @throws MeshError `TOKEN_ALG_NOT_ALLOWED`, `TOKEN_HEADER_INJECTION`, `TOKEN_TYPE_MISMATCH`,
 *   `TOKEN_CRIT_UNSUPPORTED`, `TOKEN_MALFORMED` (rule `header-members`) or `TOKEN_KEY_UNKNOWN` (rule `kid`)
 */
export function checkPinnedHeader(
  header: Record<string, unknown>,
  profile: HeaderProfile,
): { readonly alg: string; readonly kid: string } {
  const { alg, typ, kid } = header;
  if (typeof alg !== 'string' || !profile.algs.has(alg)) {
    throw fail(
      'TOKEN_ALG_NOT_ALLOWED',
      'alg-allowlist',
      `alg ${JSON.stringify(alg) ?? 'undefined'} is not ${[...profile.algs].join(' or ')}`,
      { alg: typeof alg === 'string' ? alg : null },
    );
  }
  const injected = KEY_SUPPLYING_HEADERS.find((name) => Object.hasOwn(header, name));
  if (injected !== undefined) {
    throw fail(
      'TOKEN_HEADER_INJECTION',
      'key-supplying-header',
      `header "${injected}" would let the token choose its own key; keys come only from ${profile.keySource}`,
      { header: injected },
    );
  }
  if (typeof typ !== 'string' || withoutMediaTypePrefix(typ) !== profile.typ) {
    throw fail('TOKEN_TYPE_MISMATCH', 'typ', `typ ${JSON.stringify(typ) ?? 'undefined'} is not "${profile.typ}"`, {
      typ: typeof typ === 'string' ? typ : null,
      expected: profile.typ,
    });
  }
  if (Object.hasOwn(header, 'crit')) {
    // RFC 7515 §4.1.11: a verifier must refuse what it does not understand; this one understands no extension.
    throw fail('TOKEN_CRIT_UNSUPPORTED', 'crit', 'crit lists header extensions this verifier does not understand', {
      crit: JSON.stringify(header.crit) ?? null,
    });
  }
  // `for…in` rather than Object.keys: no array per token. An inherited enumerable member
  // (a polluted prototype) is refused too, which fails closed.
  for (const name in header) {
    if (!HEADER_MEMBERS.has(name)) {
      throw fail('TOKEN_MALFORMED', 'header-members', `header parameter "${name}" is not part of ${profile.token}`, {
        header: name,
      });
    }
  }
  if (typeof kid !== 'string' || kid === '') {
    throw fail('TOKEN_KEY_UNKNOWN', 'kid', 'the header must name its key with a non-empty kid');
  }
  return { alg, kid };
}

/** The times of a token that passed {@link checkTimes}. */
export interface TokenTimes {
  readonly iat: number;
  readonly exp: number;
  readonly nbf?: number;
}

/**
 * Time rules 13–15 (RFC 7519 §4.1.4–4.1.6): NumericDates, `exp` and `iat` required,
 * `exp > iat`, `iat` and `nbf` not after now + leeway, not expired. Lifetime caps are the
 * profile's own and come after.
 *
 * @throws MeshError `TOKEN_MALFORMED`, `TOKEN_NOT_YET_VALID` or `TOKEN_EXPIRED`
 */
export function checkTimes(payload: Record<string, unknown>, now: number, leeway: number): TokenTimes {
  const { iat, nbf, exp } = payload;
  // Written out rather than looped: this runs on every uncached token.
  if (iat !== undefined && !Number.isFinite(iat)) throw notNumericDate('iat');
  if (nbf !== undefined && !Number.isFinite(nbf)) throw notNumericDate('nbf');
  if (exp !== undefined && !Number.isFinite(exp)) throw notNumericDate('exp');
  if (typeof exp !== 'number') throw fail('TOKEN_MALFORMED', 'exp-required', 'exp is required', { claim: 'exp' });
  if (typeof iat !== 'number') throw fail('TOKEN_MALFORMED', 'iat-required', 'iat is required', { claim: 'iat' });
  if (exp <= iat) throw fail('TOKEN_MALFORMED', 'exp-after-iat', 'exp must be after iat', { claim: 'exp' });
  if (iat > now + leeway) throw notYetValid('iat', iat, now, leeway);
  if (typeof nbf === 'number' && nbf > now + leeway) throw notYetValid('nbf', nbf, now, leeway);
  if (now - leeway >= exp) throw tokenExpired(exp, now, leeway);
  return typeof nbf === 'number' ? { iat, exp, nbf } : { iat, exp };
}

export function tokenExpired(exp: number, now: number, leeway: number): MeshError {
  return fail('TOKEN_EXPIRED', 'expired', `expired at ${exp} (now ${now}, leeway ${leeway} s)`, { exp, now });
}

export function tokenTooLarge(bytes: number, maxBytes: number): MeshError {
  return fail('TOKEN_TOO_LARGE', 'max-size', `token is ${bytes} bytes, more than the ${maxBytes} allowed`, {
    bytes,
    maxBytes,
  });
}

function notNumericDate(claim: string): MeshError {
  return fail('TOKEN_MALFORMED', 'numeric-date', `${claim} must be a NumericDate (RFC 7519 §2)`, { claim });
}

function notYetValid(claim: 'iat' | 'nbf', value: number, now: number, leeway: number): MeshError {
  return fail(
    'TOKEN_NOT_YET_VALID',
    `${claim}-future`,
    `${claim} ${value} is in the future (now ${now}, leeway ${leeway} s)`,
    { [claim]: value, now },
  );
}
