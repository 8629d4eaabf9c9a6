import { type Adapter, errors, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import type { Clock } from '../../common/clock.js';
import { isMeshError } from '../../common/errors/mesh-error.js';
import type { ClusterMetadataClaims } from '../../trust-anchor/index.js';
import type { ExchangeGrantSigner } from '../exchange/grant.js';
import type { ReplayCache } from '../exchange/replay-cache.js';

/** RFC 8693 grant type: the home city exchanges an app's access token for an exchange grant. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** RFC 7523 grant type: the peer city turns an exchange grant into its own access token. */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** RFC 8693 §3 token type of the accepted `subject_token`. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** The token type of an exchange grant (`citymesh-exchange-grant+jwt`) in token exchange. */
export const EXCHANGE_GRANT_TOKEN_TYPE = 'urn:citymesh:params:oauth:token-type:exchange-grant';

/** Default and largest lifetime of a peer access token: it is minted from a ≤ 60 s grant. */
export const DEFAULT_PEER_TOKEN_TTL = 60;
export const MAX_PEER_TOKEN_TTL = 300;

/** Token exchange at this city (the home city). */
export interface TokenExchangeOptions {
  /** Signs exchange grants: the node's federation key (`federationKeySigner`); its `issuer` is the node's SPIFFE id. */
  readonly signer: ExchangeGrantSigner;
  /** 1–60 s; `DEFAULT_GRANT_LIFETIME_SECONDS` (30) by default. */
  readonly grantLifetimeSeconds?: number;
  /** The resource indicator a `subject_token` must be for; default `<issuer>/exchange`. */
  readonly subjectTokenAudience?: string;
}

/** JWT-bearer at this city (the peer city). */
export interface JwtBearerOptions {
  /** Remembers consumed grants; share the node's exchange replay cache so a grant is spent once on either path. */
  readonly replay: ReplayCache;
  /** The resource peer access tokens are for; default `<issuer>/exchange`. Must be one of `resourceServers`. */
  readonly resource?: string;
  /** Seconds, 1 to {@link MAX_PEER_TOKEN_TTL}; default {@link DEFAULT_PEER_TOKEN_TTL}. */
  readonly accessTokenTTL?: number;
}

/** Cross-city delegation (identity.md, "Cross-city delegation"). Each half is off unless given. */
export interface DelegationOptions {
  /**
   * The node's current verified cluster metadata: members (entity ids, nodes, federation
   * keys) and revocations. Called per request; it may throw (`METADATA_EXPIRED`), which
   * refuses the request.
   */
  readonly metadata: () => ClusterMetadataClaims;
  readonly tokenExchange?: TokenExchangeOptions;
  readonly jwtBearer?: JwtBearerOptions;
}

/** What a grant handler needs from the provider that created it. */
export interface DelegationContext {
  readonly provider: Provider;
  readonly issuer: string;
  readonly city: string;
  readonly metadata: () => ClusterMetadataClaims;
  readonly clock: Clock;
}

/** The handler type `registerGrantType` takes. */
export type GrantHandler = (ctx: KoaContextWithOIDC) => Promise<void>;

/**
 * `invalid_grant` with its description shown to the client. oidc-provider's own
 * `InvalidGrant` replaces every description with a generic one; here the client presented
 * the grant or token itself, so saying which rule refused it tells it nothing it does not
 * hold, and is what lets an app tell an expired grant from a replayed one.
 */
export function invalidGrant(description: string): Error {
  return new errors.CustomOIDCProviderError('invalid_grant', description);
}

type Refusal = 'invalid_grant' | 'invalid_target';

/**
 * Turns a refusal into the OAuth error the token endpoint returns. A `MeshError` keeps its
 * code and message in the description (`subject_token refused (TOKEN_EXPIRED): …`), so
 * the app and the logs see which rule failed; anything else is a server error.
 */
export function oauthRefusal(err: unknown, what: string, kind: Refusal = 'invalid_grant'): Error {
  if (err instanceof errors.OIDCProviderError) return err;
  if (!isMeshError(err)) return err instanceof Error ? err : new Error(String(err));
  if (err.code === 'RATE_LIMITED' || err.code === 'METADATA_EXPIRED') {
    // The request may succeed later; it is not the client's grant that is wrong.
    const busy = new errors.CustomOIDCProviderError('temporarily_unavailable', `${what}: ${err.message}`);
    busy.status = 503;
    busy.statusCode = 503;
    return busy;
  }
  const description = `${what} refused (${err.code}): ${err.message}`;
  return kind === 'invalid_target' ? new errors.InvalidTarget(description) : invalidGrant(description);
}

/** Runs `step`, rethrowing a refusal as {@link oauthRefusal} would. */
export async function refusing<T>(what: string, step: () => T | Promise<T>, kind?: Refusal): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw oauthRefusal(err, what, kind);
  }
}

/** A single string parameter, or `invalid_request` naming it. */
export function requiredParam(ctx: KoaContextWithOIDC, name: string): string {
  const value = (ctx.oidc.params as Record<string, unknown> | undefined)?.[name];
  if (typeof value !== 'string' || value === '')
    throw new errors.InvalidRequest(`missing required parameter '${name}'`);
  return value;
}

/** The adapter class oidc-provider takes. */
export type AdapterClass = new (name: string) => Adapter;
