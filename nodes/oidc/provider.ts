import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { type Configuration, errors, type KoaContextWithOIDC } from 'oidc-provider';
import { type Clock, systemClock } from '../../common/clock.js';
import type { KeyStore } from '../../common/stores/index.js';
import { adapterFactory } from './adapter.js';
import type { DelegationOptions } from './delegation.js';
import { registerDelegationGrants } from './delegation-grants.js';
import { withFederatedClients } from './federated-clients.js';
import { handleInteraction } from './interactions.js';
import { delegatedTokenClaims } from './jwt-bearer.js';
import { LoginThrottle } from './login-throttle.js';
import type { OidcStore, SubjectAttributes } from './oidc-store.js';
import { errorPage } from './pages.js';
import { oidcSigningJwks } from './signing-keys.js';

/** A protected API of this city that access tokens can be issued for (RFC 8707 resource). */
export interface CityResourceServer {
  /** Space-separated scopes the API knows. */
  readonly scope: string;
  /** Seconds; default {@link TOKEN_TTL}.accessToken. Capped at 600 s. */
  readonly accessTokenTTL?: number;
}

export interface CityProviderOptions {
  /** The city's federation entity id (an https URL without path, query or fragment). */
  readonly issuer: string;
  /** The city's name, copied into every access token as `city`. */
  readonly city: string;
  /** The node's key store: the provider signs with its `oidc` keys (one is created if absent). */
  readonly keys: KeyStore;
  /** Accounts, app registrations and the provider's own state. */
  readonly store: OidcStore;
  /** Resource indicator (absolute URL) → API. Every access token is for exactly one of these. */
  readonly resourceServers: Readonly<Record<string, CityResourceServer>>;
  /** Drives payload expiry in the store; oidc-provider itself reads the wall clock. */
  readonly clock?: Clock;
  /** Unexpected failures of the login/consent pages; the provider's own go to its `server_error` event. */
  readonly onError?: (err: unknown) => void;
  /** Cross-city delegation grants (identity.md §8); off when absent. */
  readonly delegation?: DelegationOptions;
  /** Login failure limits; pass one instance to keep counting across provider rebuilds. Default: a new one. */
  readonly loginThrottle?: LoginThrottle;
}

export interface CityProvider {
  readonly provider: Provider;
  /** Serves the provider and its login/consent pages; mount it on the node's HTTPS listener. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
}

/** Lifetimes in seconds: short access tokens (they cannot be revoked), rotating refresh tokens. */
export const TOKEN_TTL = Object.freeze({
  accessToken: 300,
  authorizationCode: 60,
  idToken: 300,
  interaction: 600,
  refreshToken: 8 * 3600,
  session: 8 * 3600,
  grant: 8 * 3600,
});

const MAX_ACCESS_TOKEN_TTL = 600;

/**
 * Algorithms the provider accepts from clients (assertions, DPoP proofs, request objects):
 * ES256 and EdDSA. `Ed25519` is EdDSA's fully-specified name (RFC 9864), which
 * openid-client sends; no HS*, no RSA, never `none`.
 */
const CLIENT_ALGS = ['ES256', 'EdDSA', 'Ed25519'] as const;
/** Algorithms the provider signs with: its keys are P-256 only. */
const PROVIDER_ALGS = ['ES256'] as const;

/** The claims policy reads, from an account or an app registration. */
export function subjectClaims(attributes: SubjectAttributes, city: string): Record<string, unknown> {
  return {
    roles: [...attributes.roles],
    org: attributes.org,
    industry: attributes.industry,
    level: attributes.level,
    region: attributes.region,
    city,
  };
}

function checkIssuer(issuer: string): void {
  const url = new URL(issuer);
  if (url.protocol !== 'https:' || url.pathname !== '/' || url.search || url.hash || issuer.endsWith('/')) {
    throw new TypeError(`issuer must be the city's entity id, an https origin without a trailing slash: ${issuer}`);
  }
}

/** What oidc-provider needs to issue a JWT access token for `indicator`. */
function resourceServerInfo(resourceServers: CityProviderOptions['resourceServers'], indicator: string) {
  const server = resourceServers[indicator];
  if (server === undefined) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
  return {
    scope: server.scope,
    audience: indicator,
    accessTokenTTL: Math.min(server.accessTokenTTL ?? TOKEN_TTL.accessToken, MAX_ACCESS_TOKEN_TTL),
    accessTokenFormat: 'jwt' as const,
    jwt: { sign: { alg: 'ES256' as const } },
  };
}

function configuration(options: CityProviderOptions, jwks: Configuration['jwks'], cookieKey: string): Configuration {
  const { store, city, resourceServers, issuer, delegation } = options;
  const clock = options.clock ?? systemClock;
  const resources = Object.keys(resourceServers);
  const adapter = adapterFactory(store, clock);
  return {
    adapter:
      delegation === undefined
        ? adapter
        : withFederatedClients(adapter, {
            city,
            metadata: delegation.metadata,
            tokenExchange: delegation.tokenExchange !== undefined,
            jwtBearer: delegation.jwtBearer !== undefined,
          }),
    jwks,
    async findAccount(_ctx, sub) {
      const account = await store.accountById(sub);
      if (account === undefined || account.disabledAt !== undefined) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, preferred_username: account.username, ...subjectClaims(account.attributes, city) }),
      };
    },
    scopes: ['openid', 'offline_access', 'citymesh'],
    claims: {
      openid: ['sub'],
      citymesh: ['preferred_username', 'roles', 'org', 'industry', 'level', 'region', 'city'],
    },
    // Access tokens are for resource servers only (no userinfo), so the ID token carries the scope's claims.
    conformIdTokenClaims: false,
    // Every client proves possession of a registered key; secrets are not configurable at all.
    // `none` exists only with the JWT-bearer grant, for apps of other cities, which prove the
    // key their home city bound into the exchange grant instead (identity.md §8.2).
    clientAuthMethods: delegation?.jwtBearer ? ['private_key_jwt', 'none'] : ['private_key_jwt'],
    clientDefaults: {
      grant_types: ['client_credentials'],
      response_types: [],
      token_endpoint_auth_method: 'private_key_jwt',
      id_token_signed_response_alg: 'ES256',
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    enabledJWA: {
      clientAuthSigningAlgValues: CLIENT_ALGS,
      requestObjectSigningAlgValues: CLIENT_ALGS,
      dPoPSigningAlgValues: CLIENT_ALGS,
      idTokenSigningAlgValues: PROVIDER_ALGS,
      userinfoSigningAlgValues: PROVIDER_ALGS,
      introspectionSigningAlgValues: PROVIDER_ALGS,
      authorizationSigningAlgValues: PROVIDER_ALGS,
    },
    async assertJwtClientAuthClaimsAndHeader(_ctx, claims) {
      // The provider also accepts the token endpoint URL and arrays containing the issuer;
      // pin `aud` to exactly the issuer (draft-ietf-oauth-rfc7523bis), which closes the
      // audience-confusion attack on assertions meant for another server.
      if (claims['aud'] !== issuer) {
        throw new errors.InvalidClientAuth('audience (aud) of the client assertion must be exactly the issuer');
      }
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      dPoP: { enabled: true },
      userinfo: { enabled: false },
      introspection: { enabled: false },
      registration: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // No `resource` and only one API here: that one. Otherwise the client must choose.
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? (resources.length === 1 ? resources[0] : undefined),
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => resourceServerInfo(resourceServers, indicator),
      },
    },
    async extraTokenClaims(_ctx: KoaContextWithOIDC, token) {
      // A peer access token speaks for another city's subject: never a local account's claims.
      const delegated = delegatedTokenClaims(token);
      if (delegated !== undefined) return delegated;
      // Every access token names one resource server (RFC 9068, one `aud`); an unbound
      // token would be a bearer credential valid nowhere in particular, so none is issued.
      if (token.resourceServer === undefined) {
        throw new errors.InvalidTarget('a resource parameter naming one of this city’s APIs is required');
      }
      if (token.kind === 'ClientCredentials') {
        const client = token.clientId === undefined ? undefined : await store.client(token.clientId);
        return client && subjectClaims(client.attributes, city);
      }
      const account = token.accountId ? await store.accountById(token.accountId) : undefined;
      return account && subjectClaims(account.attributes, city);
    },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? TOKEN_TTL.accessToken,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? TOKEN_TTL.accessToken,
      AuthorizationCode: TOKEN_TTL.authorizationCode,
      IdToken: TOKEN_TTL.idToken,
      Interaction: TOKEN_TTL.interaction,
      RefreshToken: TOKEN_TTL.refreshToken,
      Session: TOKEN_TTL.session,
      Grant: TOKEN_TTL.grant,
    },
    // A refresh token is single-use: each refresh returns a new one, and presenting a used
    // one again is refused and revokes the grant (oidc-provider's reuse detection).
    rotateRefreshToken: true,
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    allowOmittingSingleRegisteredRedirectUri: false,
    clientBasedCORS: () => false,
    cookies: { keys: [cookieKey] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = errorPage(city, 'Sign-in failed', `${out['error']}: ${out['error_description'] ?? ''}`);
    },
  };
}

/**
 * The city's OpenID Provider: authorization code + PKCE for people, client_credentials
 * for apps (both authenticate with `private_key_jwt`), RFC 9068 JWT access tokens for one
 * resource each, DPoP, rotating refresh tokens, and nothing else switched on.
 */
export async function createCityProvider(options: CityProviderOptions): Promise<CityProvider> {
  checkIssuer(options.issuer);
  for (const indicator of Object.keys(options.resourceServers)) new URL(indicator);
  const clock = options.clock ?? systemClock;
  const jwks = (await oidcSigningJwks(options.keys, clock)) as Configuration['jwks'];
  const cookieKey = await options.store.secret('cookie_key', () => randomBytes(32).toString('base64url'));
  const provider = new Provider(options.issuer, configuration(options, jwks, cookieKey));
  if (options.delegation !== undefined) {
    registerDelegationGrants(provider, options.delegation, {
      issuer: options.issuer,
      city: options.city,
      clock,
      signingJwks: jwks as { keys: Record<string, unknown>[] },
      resourceInfo: (indicator) => resourceServerInfo(options.resourceServers, indicator),
    });
  }
  const callback = provider.callback();
  const interactionContext = {
    provider,
    store: options.store,
    city: options.city,
    issuer: options.issuer,
    throttle: options.loginThrottle ?? new LoginThrottle(),
    ...(options.onError ? { onError: options.onError } : {}),
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if ((req.url ?? '').startsWith('/interaction/')) {
      void handleInteraction(interactionContext, req, res);
    } else {
      void callback(req, res);
    }
  };
  return { provider, handler };
}
