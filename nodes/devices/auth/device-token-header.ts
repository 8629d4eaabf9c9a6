import { fail, KEY_SUPPLYING_HEADERS } from '../../../trust-anchor/index.js';

/** `typ` of a device-signed JWT (device-identity.md §5.1): no other token kind passes as one. */
export const DEVICE_TOKEN_TYP = 'citymesh-device+jwt';

/** The algorithms a device may sign with; which one a token may use follows from its credential's key. */
export type DeviceTokenAlg = 'ES256' | 'EdDSA';

/** The header a device writes, and all a verifier accepts: `{alg, typ, kid}`. */
const HEADER_MEMBERS: ReadonlySet<string> = new Set(['alg', 'typ', 'kid']);

/** What the header rules leave for the credential rules: the algorithm and the credential it names. */
export interface DeviceTokenHeader {
  readonly alg: DeviceTokenAlg;
  readonly kid: string;
}

/**
 * The header rules of device-identity.md §5.2 (4–9), in the order and with the codes of
 * `checkAccessTokenHeader`: the algorithm allowlist here is the union of what device keys
 * allow; the rule that pins it to the named credential's key type runs once that
 * credential is known.
 *
 * @throws MeshError `TOKEN_ALG_NOT_ALLOWED`, `TOKEN_HEADER_INJECTION`, `TOKEN_TYPE_MISMATCH`,
 *   `TOKEN_CRIT_UNSUPPORTED`, `TOKEN_MALFORMED` (rule `header-members`) or `TOKEN_KEY_UNKNOWN` (rule `kid`)
 */
export function checkDeviceTokenHeader(header: Record<string, unknown>): DeviceTokenHeader {
  const { alg, typ, kid } = header;
  // Exact case: `none` in any casing, HS*, RS*, PS*, `es256`, `Ed25519` are all refused here.
  if (alg !== 'ES256' && alg !== 'EdDSA') {
    throw fail(
      'TOKEN_ALG_NOT_ALLOWED',
      'alg-allowlist',
      `alg ${JSON.stringify(alg) ?? 'undefined'} is not ES256 or EdDSA`,
      {
        alg: typeof alg === 'string' ? alg : null,
      },
    );
  }
  const injected = KEY_SUPPLYING_HEADERS.find((name) => Object.hasOwn(header, name));
  if (injected !== undefined) {
    throw fail(
      'TOKEN_HEADER_INJECTION',
      'key-supplying-header',
      `header "${injected}" would let the token choose its own key; keys come only from the device registry`,
      { header: injected },
    );
  }
  // RFC 7515 §4.1.9: the `application/` prefix may be left out, so both spellings name one type.
  if (typ !== DEVICE_TOKEN_TYP && typ !== `application/${DEVICE_TOKEN_TYP}`) {
    throw fail('TOKEN_TYPE_MISMATCH', 'typ', `typ ${JSON.stringify(typ) ?? 'undefined'} is not "${DEVICE_TOKEN_TYP}"`, {
      typ: typeof typ === 'string' ? typ : null,
      expected: DEVICE_TOKEN_TYP,
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
      throw fail('TOKEN_MALFORMED', 'header-members', `header parameter "${name}" is not part of a device token`, {
        header: name,
      });
    }
  }
  if (typeof kid !== 'string' || kid === '') {
    throw fail('TOKEN_KEY_UNKNOWN', 'kid', 'the header must name the device credential with a non-empty kid');
  }
  return { alg, kid };
}
