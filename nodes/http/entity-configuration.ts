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
  return signEntityStatement(
    {
      iss: identity.entityId,
      sub: identity.entityId,
      iat: now,
      exp: now + ENTITY_CONFIGURATION_LIFETIME_SECONDS,
      jwks: { keys: published.map(publishedJwk) },
      authority_hints: [identity.anchorEntityId],
      metadata: {
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
