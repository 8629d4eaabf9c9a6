import { z } from 'zod';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../common/errors/registry.js';
import {
  parseCityName,
  parseRegionCode,
  parseResourceId,
  parseSpiffeId,
  REGION_LEVELS,
  type RegionLevel,
  zodIdentifier,
} from '../../common/ids/index.js';

/** `typ` of an exchange grant: no other citymesh token can be passed off as one. */
export const EXCHANGE_GRANT_TYP = 'citymesh-exchange-grant+jwt';
/** Longest `exp - iat` a grant may have (seconds). */
export const MAX_GRANT_LIFETIME_SECONDS = 60;
/** Deepest `act` nesting accepted: the delegation chain of one forwarded request is short. */
export const MAX_ACT_DEPTH = 5;
/** Policy actions a grant can be for (proto `Action`, lower case). */
export const GRANT_ACTIONS = ['read', 'subscribe', 'invoke', 'publish', 'administer'] as const;
/** Classifications, least protected first (proto `Classification`, lower case). */
export const CLASSIFICATIONS = ['public', 'internal', 'sensitive', 'restricted'] as const;

export type GrantAction = (typeof GRANT_ACTIONS)[number];
export type Classification = (typeof CLASSIFICATIONS)[number];

/** An RFC 8693 §4.1 actor: who acts, and (nested) on whose behalf that actor was acting. */
export interface ActorClaim {
  readonly sub: string;
  readonly act?: ActorClaim;
  readonly [claim: string]: unknown;
}

/** What a grant says about the request: everything but the issuer-set claims. */
export interface ExchangeGrantSubject {
  /** The originating subject (a person's `sub` at the home OIDC provider, or an app/device SPIFFE ID). */
  readonly sub: string;
  /** The delegation chain: the current actor, nesting earlier ones. */
  readonly act: ActorClaim;
  /** The subject's home city: always the issuer's city. */
  readonly city: string;
  /** Industry id of the subject, e.g. `health`. */
  readonly industry: string;
  /** Administrative level the subject acts at. */
  readonly level: RegionLevel;
  /** GB/T 2260 code (6, 9 or 12 digits) the subject acts for. */
  readonly region?: string;
  /** Why the data is wanted; the peer's policy decides which purposes it accepts. */
  readonly purpose: string;
  /** SPIFFE ID of the peer node the grant is for: exactly one. */
  readonly aud: string;
  /** The dataset or capability id the request is for, owned by the audience's city. */
  readonly resource: string;
  readonly action: GrantAction;
  /** Highest classification the home node allows the answer to carry. */
  readonly max_classification?: Classification;
}

/** The claims of an exchange grant. */
export interface ExchangeGrantClaims extends ExchangeGrantSubject {
  /** SPIFFE ID of the home node that issued the grant. */
  readonly iss: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  readonly [claim: string]: unknown;
}

const text = (max: number) => z.string().min(1).max(max);
/** Industry ids are registry keys: short lower-case labels. */
const INDUSTRY = /^[a-z][a-z0-9-]{0,62}$/;

const actorSchema: z.ZodType<ActorClaim> = z.lazy(() => z.looseObject({ sub: text(512), act: actorSchema.optional() }));

function actDepth(act: ActorClaim | undefined): number {
  let depth = 0;
  for (let a = act; a !== undefined; a = a.act) depth++;
  return depth;
}

/** Shapes only; the rules relating claims to the metadata and the connection live in the verifier. */
export const exchangeGrantSchema = z.looseObject({
  iss: zodIdentifier(parseSpiffeId),
  sub: text(512),
  act: actorSchema.refine((act) => actDepth(act) <= MAX_ACT_DEPTH, `nests more than ${MAX_ACT_DEPTH} actors`),
  city: zodIdentifier(parseCityName),
  industry: z.string().regex(INDUSTRY, 'must be an industry id'),
  level: z.enum(REGION_LEVELS),
  region: zodIdentifier(parseRegionCode).optional(),
  purpose: text(256),
  aud: zodIdentifier(parseSpiffeId),
  iat: z.number().int(),
  exp: z.number().int(),
  jti: text(128),
  resource: zodIdentifier(parseResourceId),
  action: z.enum(GRANT_ACTIONS),
  max_classification: z.enum(CLASSIFICATIONS).optional(),
});

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};
const isText = (value: unknown, max: number): boolean =>
  typeof value === 'string' && value.length >= 1 && value.length <= max;
/** Whether `parse` accepts `value`: the identifier claims are checked by the same parsers the schema uses. */
const parses = (parse: (input: unknown) => unknown, value: unknown): boolean => {
  if (typeof value !== 'string') return false;
  try {
    parse(value);
    return true;
  } catch {
    return false;
  }
};

function actorFits(act: unknown): boolean {
  let depth = 0;
  for (let a: unknown = act; a !== undefined; a = (a as Record<string, unknown>).act) {
    if (++depth > MAX_ACT_DEPTH || !isPlainObject(a) || !isText(a.sub, 512)) return false;
  }
  return depth >= 1;
}

/**
 * True only when {@link exchangeGrantSchema} accepts `claims` (never the other way round:
 * anything this does not recognise as well-formed is left to the schema). Every grant is
 * checked twice per exchange, once by the home node that issues it and once by the peer
 * that verifies it, and zod building its parsed copy was most of that cost.
 */
function plainlyWellFormed(claims: unknown): boolean {
  if (!isPlainObject(claims)) return false;
  const c = claims;
  return (
    parses(parseSpiffeId, c.iss) &&
    isText(c.sub, 512) &&
    actorFits(c.act) &&
    parses(parseCityName, c.city) &&
    typeof c.industry === 'string' &&
    INDUSTRY.test(c.industry) &&
    (REGION_LEVELS as readonly unknown[]).includes(c.level) &&
    (c.region === undefined || parses(parseRegionCode, c.region)) &&
    isText(c.purpose, 256) &&
    parses(parseSpiffeId, c.aud) &&
    Number.isSafeInteger(c.iat) &&
    Number.isSafeInteger(c.exp) &&
    isText(c.jti, 128) &&
    parses(parseResourceId, c.resource) &&
    (GRANT_ACTIONS as readonly unknown[]).includes(c.action) &&
    (c.max_classification === undefined || (CLASSIFICATIONS as readonly unknown[]).includes(c.max_classification))
  );
}

/**
 * Checks claims against {@link exchangeGrantSchema}: a direct check of the usual, well-formed
 * grant, and the schema itself for anything else (so every refusal is the schema's, with
 * its first issue). A test holds the two to the same verdicts.
 *
 * @throws MeshError `code` with `details.claim` naming the first claim that is wrong
 */
export function checkGrantShape(claims: unknown, code: ErrorCode): void {
  if (plainlyWellFormed(claims)) return;
  const result = exchangeGrantSchema.safeParse(claims);
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const claim = issue.path.map(String).join('.') || '$';
  throw new MeshError(code, `exchange grant claim ${claim} ${issue.message}`, {
    details: { rule: 'claims', claim },
  });
}
