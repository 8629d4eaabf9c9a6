import { createPublicKey } from 'node:crypto';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { formatSpiffeId, parseResourceId } from '../../common/ids/index.js';
import type { JwkSet } from '../../trust-anchor/index.js';
import { type ExchangeGrantRequest, issueExchangeGrant } from '../exchange/grant.js';
import { GRANT_ACTIONS, type GrantAction } from '../exchange/grant-claims.js';
import { AccessTokenVerifier } from './access-token-verifier.js';
import {
  ACCESS_TOKEN_TYPE,
  type DelegationContext,
  EXCHANGE_GRANT_TOKEN_TYPE,
  type GrantHandler,
  invalidGrant,
  refusing,
  requiredParam,
  type TokenExchangeOptions,
} from './delegation.js';
import { dpopProofOf } from './dpop-proof.js';
import { resolveAudience } from './exchange-audience.js';

/** Parameters of the token exchange grant (RFC 8693 §2.1, plus citymesh's `purpose`). */
export const TOKEN_EXCHANGE_PARAMS = [
  'subject_token',
  'subject_token_type',
  'requested_token_type',
  'actor_token',
  'actor_token_type',
  'audience',
  'resource',
  'scope',
  'purpose',
] as const;

/** The provider's signing keys without their private halves: what verifies its own tokens. */
export function publicJwks(jwks: { keys: readonly Record<string, unknown>[] }): JwkSet {
  return {
    keys: jwks.keys.map((jwk) => {
      const pub = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ format: 'jwk' });
      return { ...pub, kid: jwk['kid'], alg: 'ES256', use: 'sig' } as JwkSet['keys'][number];
    }),
  };
}

function action(scope: string): GrantAction {
  if (!(GRANT_ACTIONS as readonly string[]).includes(scope)) {
    throw new errors.InvalidScope(`scope must be exactly one action: ${GRANT_ACTIONS.join(', ')}`, scope);
  }
  return scope as GrantAction;
}

/**
 * The RFC 8693 token exchange at the home city: an app (authenticated with
 * private_key_jwt, proving a DPoP key) trades an access token this provider issued to it
 * for an exchange grant to one peer city, bound to that DPoP key. identity.md §8.1.
 */
export function tokenExchangeHandler(
  context: DelegationContext,
  options: TokenExchangeOptions,
  signingJwks: JwkSet,
): GrantHandler {
  const { provider, issuer, city } = context;
  const verifier = new AccessTokenVerifier({
    issuer,
    city,
    audience: options.subjectTokenAudience ?? `${issuer}/exchange`,
    keys: () => signingJwks,
    metadata: context.metadata,
    clock: context.clock,
  });

  return async (ctx: KoaContextWithOIDC) => {
    const client = ctx.oidc.client!;
    const params = ctx.oidc.params as Record<string, unknown>;
    if (requiredParam(ctx, 'subject_token_type') !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    const requested = params['requested_token_type'] ?? EXCHANGE_GRANT_TOKEN_TYPE;
    if (requested !== EXCHANGE_GRANT_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`requested_token_type must be ${EXCHANGE_GRANT_TOKEN_TYPE}`);
    }
    if (params['actor_token'] !== undefined || params['actor_token_type'] !== undefined) {
      // The actor is the authenticated client itself; a second actor token would let it claim another.
      throw new errors.InvalidRequest('actor_token is not supported: the actor is the authenticated client');
    }
    const subjectToken = requiredParam(ctx, 'subject_token');
    const audience = requiredParam(ctx, 'audience');
    const resource = requiredParam(ctx, 'resource');
    const purpose = requiredParam(ctx, 'purpose');
    const act = action(requiredParam(ctx, 'scope'));

    // The grant is handed to the app, so it is bound to a key the app proves here (cnf.jkt):
    // a grant copied off the wire is useless at the peer without that key.
    const proof = await dpopProofOf(provider, ctx, client.clientId);
    if (proof === undefined) {
      throw new errors.InvalidRequest('a DPoP proof is required: the exchange grant is bound to its key');
    }

    const metadata = await refusing('cluster metadata', context.metadata);
    const peer = await refusing('audience', () => resolveAudience(metadata, audience, city), 'invalid_target');
    const target = await refusing('resource', () => parseResourceId(resource, 'resource'), 'invalid_target');
    if (target.cluster !== metadata.cluster || target.city !== peer.city) {
      throw new errors.InvalidTarget(`resource ${resource} is not owned by ${peer.city}, the audience's city`);
    }

    const claims = await refusing('subject_token', () => verifier.verify(subjectToken));
    if (claims.client_id !== client.clientId) {
      throw invalidGrant('subject_token was issued to another client');
    }
    if (claims.cnf !== undefined && claims.cnf.jkt !== proof.thumbprint) {
      throw invalidGrant('subject_token is DPoP-bound to another key than the proof');
    }

    const home = metadata.members.find((m) => m.city === city);
    if (home === undefined) throw new errors.InvalidRequest(`${city} is not a member of cluster ${metadata.cluster}`);
    const app = await refusing('client', () =>
      formatSpiffeId({ cluster: metadata.cluster, city, kind: 'app', name: client.clientId }),
    );
    const request: ExchangeGrantRequest & { cnf: { jkt: string } } = {
      // An app's own token names the app as subject: the grant uses its SPIFFE id (federation.md).
      sub: claims.sub === claims.client_id ? app : claims.sub,
      act: { sub: app, act: { sub: options.signer.issuer } },
      city: claims.city,
      industry: claims.industry,
      level: claims.level,
      region: claims.region,
      purpose,
      aud: peer.node,
      resource,
      action: act,
      cnf: { jkt: proof.thumbprint },
      ...(options.grantLifetimeSeconds === undefined ? {} : { lifetimeSeconds: options.grantLifetimeSeconds }),
    };
    const grant = await refusing('exchange grant', () =>
      issueExchangeGrant(options.signer, request, context.clock.now()),
    );
    ctx.body = {
      access_token: grant.token,
      issued_token_type: EXCHANGE_GRANT_TOKEN_TYPE,
      // RFC 8693 §2.2.1: the grant is not an OAuth access token for any resource server.
      token_type: 'N_A',
      expires_in: grant.claims.exp - grant.claims.iat,
    };
  };
}
