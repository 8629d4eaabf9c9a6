import type { Adapter, AdapterPayload } from 'oidc-provider';
import { parseSpiffeId } from '../../common/ids/index.js';
import { assertNotRevoked, type ClusterMetadataClaims, findMember } from '../../trust-anchor/index.js';
import { type AdapterClass, JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT } from './delegation.js';

export interface FederatedClientsOptions {
  /** This city's name: its own apps are never federated clients. */
  readonly city: string;
  readonly metadata: () => ClusterMetadataClaims;
  /** Registered apps that opted in (`crossCity`) may use the token exchange grant. */
  readonly tokenExchange: boolean;
  /** Apps of other member cities are known, for the JWT-bearer grant only. */
  readonly jwtBearer: boolean;
}

/**
 * The app SPIFFE id `id` of another current, unrevoked member city, or undefined. Any
 * failure (not a SPIFFE id, another cluster, a revoked city, expired metadata) means "no
 * such client": the request then fails `invalid_client` like any unknown client id.
 */
export function federatedAppCity(id: string, city: string, metadata: () => ClusterMetadataClaims): string | undefined {
  if (!id.startsWith('spiffe://')) return undefined;
  try {
    const app = parseSpiffeId(id, 'client_id');
    const current = metadata();
    if (app.kind !== 'app' || app.cluster !== current.cluster || app.city === city) return undefined;
    const member = findMember(current, app.city);
    if (member.trust_domain !== app.trustDomain) return undefined;
    assertNotRevoked(current, { city: app.city });
    return app.city;
  } catch {
    return undefined;
  }
}

/**
 * The client metadata of an app registered at another city. It authenticates with no
 * secret and no key of its own here: the JWT-bearer handler accepts a request from it only
 * with an exchange grant naming it (`act.sub`) and a DPoP proof by the key the grant binds
 * (`cnf.jkt`). It can do nothing else: one grant type, no redirect, no response type.
 */
function federatedClient(clientId: string): AdapterPayload {
  return {
    client_id: clientId,
    token_endpoint_auth_method: 'none',
    grant_types: [JWT_BEARER_GRANT],
    response_types: [],
    redirect_uris: [],
    dpop_bound_access_tokens: true,
    id_token_signed_response_alg: 'ES256',
  };
}

/**
 * Wraps the provider's adapter so that `Client` lookups know the delegation grants:
 * registered apps gain the token exchange grant type, and apps of other member cities
 * resolve to {@link federatedClient}. Every other model is the wrapped adapter's.
 */
export function withFederatedClients(Base: AdapterClass, options: FederatedClientsOptions): AdapterClass {
  return class FederatedClientAdapter extends (Base as new (name: string) => Adapter & { readonly name: string }) {
    override async find(id: string): Promise<AdapterPayload | undefined> {
      const found = (await super.find(id)) ?? undefined;
      if (this.name !== 'Client') return found;
      if (found !== undefined) {
        // Only apps registered with --cross-city list the grant; a provider without token
        // exchange must not see it at all (it would refuse the client's metadata).
        return options.tokenExchange
          ? found
          : {
              ...found,
              grant_types: ((found.grant_types as string[] | undefined) ?? []).filter(
                (g) => g !== TOKEN_EXCHANGE_GRANT,
              ),
            };
      }
      if (!options.jwtBearer || federatedAppCity(id, options.city, options.metadata) === undefined) return undefined;
      return federatedClient(id);
    }
  };
}
