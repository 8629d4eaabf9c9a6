import { decodeJwt } from 'jose';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { MeshError } from '../../common/errors/mesh-error.js';
import { parseSpiffeId } from '../../common/ids/index.js';
import { verifyExchangeGrant } from '../exchange/grant.js';
import type { ExchangeGrantClaims } from '../exchange/grant-claims.js';
import {
  DEFAULT_PEER_TOKEN_TTL,
  type DelegationContext,
  type GrantHandler,
  invalidGrant,
  type JwtBearerOptions,
  MAX_PEER_TOKEN_TTL,
  oauthRefusal,
  refusing,
  requiredParam,
} from './delegation.js';
import { dpopProofOf } from './dpop-proof.js';
import { ownNodes } from './exchange-audience.js';
import { federatedAppCity } from './federated-clients.js';

/** Parameters of the JWT-bearer grant (RFC 7523 §2.1); the peer token's resource is fixed. */
export const JWT_BEARER_PARAMS = ['assertion'] as const;

/** What a resource server's `getResourceServerInfo` returns, for the peer token's resource. */
export type ResourceServerInfo = ConstructorParameters<KoaContextWithOIDC['oidc']['provider']['ResourceServer']>[1];

/** Claims of peer access tokens being issued, keyed by the token object (see {@link delegatedTokenClaims}). */
const pending = new WeakMap<object, Record<string, unknown>>();

/**
 * The claims a peer access token carries instead of a local account's or app's. The
 * provider's `extraTokenClaims` asks this first: a grant's `sub` is an id at another city
 * and must never pick up the attributes of a local account that happens to share it.
 */
export function delegatedTokenClaims(token: object): Record<string, unknown> | undefined {
  return pending.get(token);
}

/** The subject's attributes and the delegation chain, as the peer's policy reads them. */
function peerClaims(grant: ExchangeGrantClaims): Record<string, unknown> {
  return {
    city: grant.city,
    industry: grant.industry,
    level: grant.level,
    ...(grant.region === undefined ? {} : { region: grant.region }),
    act: grant.act,
    // What the home city authorised: the peer token is good for this request only.
    exchange: {
      resource: grant.resource,
      action: grant.action,
      purpose: grant.purpose,
      ...(grant.max_classification === undefined ? {} : { max_classification: grant.max_classification }),
      grant_iss: grant.iss,
      grant_jti: grant.jti,
    },
  };
}

function unverifiedClaims(assertion: string): Record<string, unknown> {
  try {
    return decodeJwt(assertion) as Record<string, unknown>;
  } catch {
    throw invalidGrant('assertion is not a JWT');
  }
}

function jktOf(claims: Record<string, unknown>): unknown {
  const cnf = claims['cnf'];
  return typeof cnf === 'object' && cnf !== null ? (cnf as Record<string, unknown>)['jkt'] : undefined;
}

function actorOf(claims: Record<string, unknown>): unknown {
  const act = claims['act'];
  return typeof act === 'object' && act !== null ? (act as Record<string, unknown>)['sub'] : undefined;
}

/** The grant must name the requesting app as its actor and the proof's key as its key. */
function checkBinding(claims: Record<string, unknown>, clientId: string, thumbprint: string): void {
  if (jktOf(claims) === undefined) {
    throw invalidGrant('the exchange grant is not bound to a key (cnf.jkt): it is only for node forwarding');
  }
  if (jktOf(claims) !== thumbprint) {
    throw invalidGrant('the DPoP proof is not signed by the key the exchange grant binds (cnf.jkt)');
  }
  if (actorOf(claims) !== clientId) {
    throw invalidGrant(`the exchange grant names another actor (act.sub) than ${clientId}`);
  }
}

/**
 * The RFC 7523 JWT-bearer grant at the peer city: an app of another member city presents
 * the exchange grant its home city issued and proves, with DPoP, the key the grant binds;
 * it receives an at+jwt for this city's exchange resource. identity.md §8.2.
 */
export function jwtBearerHandler(
  context: DelegationContext,
  options: JwtBearerOptions,
  resourceInfo: (indicator: string) => ResourceServerInfo,
): GrantHandler {
  const { provider, issuer, city } = context;
  const resource = options.resource ?? `${issuer}/exchange`;
  const ttl = options.accessTokenTTL ?? DEFAULT_PEER_TOKEN_TTL;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_PEER_TOKEN_TTL) {
    throw new TypeError(`jwtBearer.accessTokenTTL must be an integer from 1 to ${MAX_PEER_TOKEN_TTL}`);
  }
  const info = resourceInfo(resource);

  return async (ctx: KoaContextWithOIDC) => {
    const client = ctx.oidc.client!;
    const clientId = client.clientId;
    // Defence in depth: only federated clients hold this grant type (federated-clients.ts).
    const appCity = federatedAppCity(clientId, city, context.metadata);
    if (appCity === undefined) throw new errors.UnauthorizedClient('only apps of other member cities use this grant');
    const assertion = requiredParam(ctx, 'assertion');
    const proof = await dpopProofOf(provider, ctx, clientId);
    if (proof === undefined) {
      throw new errors.InvalidRequest('a DPoP proof by the key the exchange grant binds (cnf.jkt) is required');
    }

    // Checked on the unverified claims first so that a request by the wrong app or key is
    // refused without spending the grant; checked again below on the verified claims.
    const unverified = unverifiedClaims(assertion);
    checkBinding(unverified, clientId, proof.thumbprint);

    const metadata = await refusing('cluster metadata', context.metadata);
    const nodes = ownNodes(metadata, city);
    if (nodes.length === 0) throw new errors.InvalidRequest(`${city} lists no unrevoked node in the cluster metadata`);
    const aud = unverified['aud'];
    // Every node of this city shares its entity id and provider, so a grant for any of them
    // is for this city; a grant for anything else fails the verifier's own `aud` check.
    const audience = typeof aud === 'string' && nodes.includes(aud) ? aud : nodes[0]!;
    const issuerCity = await refusing('assertion', () => parseSpiffeId(unverified['iss'], 'iss').city);
    if (issuerCity !== appCity) {
      throw invalidGrant(`the exchange grant is from ${issuerCity}, but ${clientId} is an app of ${appCity}`);
    }

    let grant: ExchangeGrantClaims;
    try {
      // No mTLS presenter here: the claimed issuing city stands in for it, so the verifier's
      // presenter check becomes "the signing key belongs to the city iss names".
      ({ claims: grant } = await verifyExchangeGrant(assertion, {
        metadata,
        audience,
        presenterCity: issuerCity,
        now: context.clock.now(),
        replay: options.replay,
      }));
    } catch (err) {
      if (err instanceof MeshError && err.details['rule'] === 'presenter-city') {
        throw invalidGrant(
          `exchange grant refused (TOKEN_ISSUER_MISMATCH): iss names ${issuerCity}, but a key of ${String(err.details['keyCity'])} signed it`,
        );
      }
      throw oauthRefusal(err, 'exchange grant');
    }
    checkBinding(grant, clientId, proof.thumbprint);

    const resourceServer = new provider.ResourceServer(resource, info);
    // No oidc-provider Grant backs this token: the exchange grant is the authorisation, and
    // a JWT access token is never looked up by grant (the types ask for one regardless).
    const token = new provider.AccessToken({
      accountId: grant.sub,
      client,
      gty: 'jwt_bearer',
      scope: resourceServer.scope,
      resourceServer,
      expiresIn: ttl,
    } as unknown as ConstructorParameters<typeof provider.AccessToken>[0]);
    token.setThumbprint('jkt', proof.thumbprint);
    pending.set(token, peerClaims(grant));
    const value = await token.save();
    ctx.body = {
      access_token: value,
      token_type: token.tokenType,
      expires_in: ttl,
      ...(token.scope ? { scope: token.scope } : {}),
    };
  };
}
