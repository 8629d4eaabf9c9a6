import type { Clock } from '../../common/clock.js';
import type { KeyStore } from '../../common/stores/index.js';
import {
  activeKey,
  CITYMESH_NODE_ENTITY_TYPE,
  keysWith,
  publishedJwk,
  signEntityStatement,
  signingKey,
} from '../../trust-anchor/index.js';
import type { NodeIdentity } from '../trust/identity.js';

/** How long a city's entity configuration is valid; resolvers fetch it again after. */
export const ENTITY_CONFIGURATION_LIFETIME_SECONDS = 3600;

/**
 * The city's entity configuration (federation.md §4.3): self-signed with the node's
 * federation key, naming the anchor as its only authority. The `citymesh_node` metadata
 * is partial on purpose: the anchor's statement supplies what it vouches for (CA
 * certificates, region, trust domain) and wins where both speak.
 */
export async function cityEntityConfiguration(identity: NodeIdentity, keys: KeyStore, clock: Clock): Promise<string> {
  const now = clock.nowSeconds();
  const published = [
    ...(await keysWith(keys, 'federation', 'active')),
    ...(await keysWith(keys, 'federation', 'next')),
  ];
  const oidc = [...(await keysWith(keys, 'oidc', 'active')), ...(await keysWith(keys, 'oidc', 'next'))];
  const base = identity.entityId.replace(/\/$/, '');
  return signEntityStatement(
    {
      iss: identity.entityId,
      sub: identity.entityId,
      iat: now,
      exp: now + ENTITY_CONFIGURATION_LIFETIME_SECONDS,
      jwks: { keys: published.map(publishedJwk) },
      authority_hints: [identity.anchorEntityId],
      metadata: {
        // The city's OpenID Provider, with the keys its access tokens are signed with, so a
        // peer resolving the city through the anchor learns them from the trust chain.
        openid_provider: {
          issuer: identity.entityId,
          authorization_endpoint: `${base}/auth`,
          token_endpoint: `${base}/token`,
          jwks_uri: `${base}/jwks`,
          jwks: { keys: oidc.map(publishedJwk) },
          token_endpoint_auth_methods_supported: ['private_key_jwt'],
          token_endpoint_auth_signing_alg_values_supported: ['ES256', 'EdDSA'],
        },
        [CITYMESH_NODE_ENTITY_TYPE]: {
          cluster: identity.cluster,
          city: identity.city,
          grpc_endpoint: identity.grpcEndpoint,
          https_endpoint: identity.entityId,
        },
      },
    },
    signingKey(await activeKey(keys, 'federation')),
  );
}
