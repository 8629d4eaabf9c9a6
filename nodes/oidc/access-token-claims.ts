import { REGION_LEVELS, type RegionLevel } from '../../common/ids/region-level.js';
import { fail } from '../../trust-anchor/index.js';

/** `typ` of RFC 9068 access tokens (RFC 9068 §2.1; `application/at+jwt` is the same type). */
export const ACCESS_TOKEN_TYP = 'at+jwt';

/** The RFC 9068 claims every access token of a city's provider carries, whoever it was issued to. */
export interface Rfc9068Claims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly client_id: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  readonly nbf?: number;
  /** Space-separated scopes; absent when none was granted. */
  readonly scope?: string;
}

/** The claims of a city access token (identity.md §4) once verified; frozen, shared by cache hits. */
export interface AccessTokenClaims extends Rfc9068Claims {
  readonly city: string;
  readonly org: string;
  readonly industry: string;
  readonly level: RegionLevel;
  readonly region: string;
  readonly roles: readonly string[];
  /** DPoP binding (RFC 9449 §6): the caller must check the proof's key against `jkt`. */
  readonly cnf?: { readonly jkt: string };
}

const MAX_ID_LENGTH = 512;
const REGION = /^(?:\d{6}|\d{9}|\d{12})$/;
const JKT = /^[A-Za-z0-9_-]{43}$/;
const LEVELS: ReadonlySet<string> = new Set(REGION_LEVELS);

/** Plain claims copied as they are; `roles` and `cnf` are copied and frozen separately. */
const KEPT = [
  'iss',
  'aud',
  'sub',
  'client_id',
  'jti',
  'iat',
  'exp',
  'nbf',
  'scope',
  'city',
  'org',
  'industry',
  'level',
  'region',
];

const isId = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;

/** Claim → its test. Policy trusts these attributes, so each must have the shape the provider issues. */
const SHAPES: Readonly<Record<string, (value: unknown) => boolean>> = {
  sub: isId,
  client_id: isId,
  jti: isId,
  city: isId,
  org: isId,
  industry: isId,
  level: (value) => typeof value === 'string' && LEVELS.has(value),
  region: (value) => typeof value === 'string' && REGION.test(value),
  roles: (value) => Array.isArray(value) && value.length <= 32 && value.every(isId),
  iat: (value) => typeof value === 'number',
};

const OPTIONAL_SHAPES: Readonly<Record<string, (value: unknown) => boolean>> = {
  scope: (value) => typeof value === 'string',
  cnf: (value) =>
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { jkt?: unknown }).jkt === 'string' &&
    JKT.test((value as { jkt: string }).jkt),
};

const REQUIRED = Object.entries(SHAPES);
const OPTIONAL = Object.entries(OPTIONAL_SHAPES);

/**
 * Checks the claims the gRPC layer relies on and returns them frozen (a cached hit hands
 * out the same object, so nobody may change it). `iss`, `aud` and the times are checked
 * before this; RFC 9068 §2.2 makes `iat`, `jti`, `sub` and `client_id` required.
 *
 * @throws MeshError `TOKEN_MALFORMED` (rule `claims`, `details.claim` naming it)
 */
export function accessTokenClaims(payload: Record<string, unknown>): AccessTokenClaims {
  for (const [claim, test] of REQUIRED) {
    if (!test(payload[claim])) throw malformed(claim);
  }
  for (const [claim, test] of OPTIONAL) {
    if (payload[claim] !== undefined && !test(payload[claim])) throw malformed(claim);
  }
  // Only the profile's claims are kept: everything returned is frozen all the way down.
  const claims: Record<string, unknown> = {};
  for (const claim of KEPT) if (payload[claim] !== undefined) claims[claim] = payload[claim];
  claims.roles = Object.freeze([...(payload.roles as string[])]);
  if (payload.cnf !== undefined) claims.cnf = Object.freeze({ jkt: (payload.cnf as { jkt: string }).jkt });
  return Object.freeze(claims) as unknown as AccessTokenClaims;
}

function malformed(claim: string) {
  return fail('TOKEN_MALFORMED', 'claims', `claim ${claim} is missing or has the wrong shape`, { claim });
}
