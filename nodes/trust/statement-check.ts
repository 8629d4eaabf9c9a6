import { MeshError } from '../../common/errors/mesh-error.js';
import { formatTrustDomain } from '../../common/ids/index.js';
import { CITYMESH_NODE_ENTITY_TYPE, type EntityStatementClaims } from '../../trust-anchor/index.js';

/**
 * The anchor's statement must vouch for this node's own federation key and describe this
 * city (federation.md N7); otherwise peers resolving the city would trust other keys.
 */
export function checkStatementAboutUs(
  claims: EntityStatementClaims,
  expected: { federationKid: string; cluster: string; city: string },
): void {
  const node = claims.metadata?.[CITYMESH_NODE_ENTITY_TYPE];
  const problems = [
    claims.jwks.keys.some((k) => k.kid === expected.federationKid) ? '' : 'its jwks lack this node’s federation key',
    node?.cluster === expected.cluster ? '' : `it names cluster ${String(node?.cluster)}`,
    node?.city === expected.city ? '' : `it names city ${String(node?.city)}`,
    node?.trust_domain === formatTrustDomain(expected.cluster, expected.city)
      ? ''
      : `it names trust domain ${String(node?.trust_domain)}`,
  ].filter((p) => p !== '');
  if (problems.length > 0) {
    throw new MeshError(
      'TRUST_CHAIN_INVALID',
      `the anchor's statement about this city is wrong: ${problems.join('; ')}`,
      {
        details: { field: 'subordinateStatement', rule: 'statement-content' },
      },
    );
  }
}
