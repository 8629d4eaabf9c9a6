import { fail } from '../../../trust-anchor/index.js';
import { checkTimes } from '../../oidc/token-rules.js';

/** Longest `jti` accepted: it is kept in the replay cache for the token's whole life. */
export const MAX_DEVICE_TOKEN_JTI_LENGTH = 128;

/** The claims of a verified device token (device-identity.md §5.1). */
export interface DeviceTokenClaims {
  /** The device's SPIFFE id (`iss` is the same). */
  readonly sub: string;
  readonly aud: string;
  readonly iat: number;
  readonly exp: number;
  readonly nbf?: number;
  readonly jti: string;
}

/** The time rules' settings: leeway on every instant, and the longest lifetime accepted. */
export interface TimeRules {
  readonly leeway: number;
  readonly maxLifetime: number;
}

/**
 * Rules 18–23 of device-identity.md §5.2 (RFC 7519 §4.1.4–4.1.6 with leeway for device clocks),
 * then the lifetime cap, then the audience and `jti`: the claims a verified signature
 * vouches for, checked after it. Returns the claims.
 */
export function checkDeviceTokenClaims(
  payload: Record<string, unknown>,
  sub: string,
  audience: string,
  rules: TimeRules,
  now: number,
): DeviceTokenClaims {
  const { aud, jti } = payload;
  const { leeway, maxLifetime } = rules;
  const { iat, exp, nbf } = checkTimes(payload, now, leeway);
  if (exp - iat > maxLifetime) {
    throw fail(
      'TOKEN_LIFETIME_EXCEEDED',
      'device-token-lifetime',
      `the token lives ${exp - iat} s; a device token lives at most ${maxLifetime} s`,
      { claim: 'exp', lifetime: exp - iat, maxLifetime },
    );
  }
  if (typeof aud !== 'string') {
    throw fail('TOKEN_AUDIENCE_MISMATCH', 'single-audience', 'a device token names exactly one audience, as a string', {
      claim: 'aud',
    });
  }
  if (aud !== audience) {
    throw fail('TOKEN_AUDIENCE_MISMATCH', 'aud', `the token is for ${aud}, not ${audience}`, {
      claim: 'aud',
      audience,
    });
  }
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_DEVICE_TOKEN_JTI_LENGTH) {
    throw fail(
      'TOKEN_MALFORMED',
      'jti-required',
      `jti must be a string of 1 to ${MAX_DEVICE_TOKEN_JTI_LENGTH} characters`,
      {
        claim: 'jti',
      },
    );
  }
  return Object.freeze(typeof nbf === 'number' ? { sub, aud, iat, exp, nbf, jti } : { sub, aud, iat, exp, jti });
}
