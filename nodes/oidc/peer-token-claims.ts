import { z } from 'zod';
import { deepFreeze } from '../../common/config/deep-freeze.js';
import { parseSpiffeId, zodIdentifier } from '../../common/ids/index.js';
import type { RegionLevel } from '../../common/ids/region-level.js';
import { fail } from '../../trust-anchor/index.js';
import {
  type ActorClaim,
  type Classification,
  exchangeGrantSchema,
  type GrantAction,
} from '../exchange/grant-claims.js';
import type { Rfc9068Claims } from './access-token-claims.js';

/**
 * What the home city authorised, copied from the exchange grant into the peer access
 * token (identity.md §8.2): the token is good for this one resource, action and purpose.
 */
export interface PeerExchangeClaim {
  readonly resource: string;
  readonly action: GrantAction;
  readonly purpose: string;
  readonly max_classification?: Classification;
  /** The home node that issued the grant, and the grant's id: the evidence trail back. */
  readonly grant_iss: string;
  readonly grant_jti: string;
}

/**
 * The claims of a peer access token once verified: issued by this city's provider through
 * the JWT-bearer grant to an app of another member city. `city` is the app's home city;
 * there is no `org` or `roles`, because no local account or registration stands behind it.
 */
export interface PeerAccessTokenClaims extends Rfc9068Claims {
  /** The app's SPIFFE id at its home city. */
  readonly client_id: string;
  readonly city: string;
  readonly industry: string;
  readonly level: RegionLevel;
  readonly region?: string;
  readonly act: ActorClaim;
  readonly exchange: PeerExchangeClaim;
  /** Always present: a peer token is only ever issued DPoP-bound. */
  readonly cnf: { readonly jkt: string };
}

const grant = exchangeGrantSchema.shape;
const text = (max: number) => z.string().min(1).max(max);

const peerTokenSchema = z.object({
  iss: text(512),
  aud: text(512),
  sub: text(512),
  client_id: zodIdentifier(parseSpiffeId),
  jti: text(512),
  iat: z.number(),
  exp: z.number(),
  nbf: z.number().optional(),
  scope: z.string().optional(),
  city: grant.city,
  industry: grant.industry,
  level: grant.level,
  region: grant.region,
  act: grant.act,
  exchange: z
    .object({
      resource: grant.resource,
      action: grant.action,
      purpose: grant.purpose,
      max_classification: grant.max_classification,
      grant_iss: zodIdentifier(parseSpiffeId),
      grant_jti: text(128),
    })
    .strip(),
  cnf: z.object({ jkt: z.string().regex(/^[A-Za-z0-9_-]{43}$/) }).strip(),
});

/** True when a payload claims to be a peer access token: only those carry `exchange`. */
export function isPeerTokenPayload(payload: Record<string, unknown>): boolean {
  return payload['exchange'] !== undefined;
}

/**
 * Checks a peer access token's claims and returns them frozen all the way down (cache hits
 * hand out the same object). `iss`, `aud` and the times are checked before this; the
 * verifier relates `city` and `client_id` to the cluster metadata after it.
 *
 * @throws MeshError `TOKEN_MALFORMED` (rule `claims`, `details.claim` naming the first wrong claim)
 */
export function peerAccessTokenClaims(payload: Record<string, unknown>): PeerAccessTokenClaims {
  // The schema checks shapes only: identifier fields parse into objects, so the claims
  // returned are copied from the payload, never taken from the parse result.
  const result = peerTokenSchema.safeParse(payload);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const claim = issue.path.map(String).join('.') || '$';
    throw fail('TOKEN_MALFORMED', 'claims', `peer token claim ${claim} ${issue.message}`, { claim });
  }
  const app = parseSpiffeId(payload['client_id'], 'client_id');
  if (app.kind !== 'app' || app.city !== payload['city']) {
    throw fail(
      'TOKEN_MALFORMED',
      'claims',
      `client_id ${String(payload['client_id'])} is not an app of ${String(payload['city'])}`,
      {
        claim: 'client_id',
      },
    );
  }
  const claims: Record<string, unknown> = {};
  for (const name of KEPT) if (payload[name] !== undefined) claims[name] = payload[name];
  const exchange = payload['exchange'] as Record<string, unknown>;
  claims['exchange'] = pick(exchange, EXCHANGE_KEPT);
  claims['act'] = structuredClone(payload['act']);
  claims['cnf'] = { jkt: (payload['cnf'] as { jkt: string }).jkt };
  return deepFreeze(claims) as unknown as PeerAccessTokenClaims;
}

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
  'industry',
  'level',
  'region',
];
const EXCHANGE_KEPT = ['resource', 'action', 'purpose', 'max_classification', 'grant_iss', 'grant_jti'];

function pick(from: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) if (from[name] !== undefined) out[name] = from[name];
  return out;
}
