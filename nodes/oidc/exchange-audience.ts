import { MeshError } from '../../common/errors/mesh-error.js';
import { parseSpiffeId } from '../../common/ids/index.js';
import {
  assertNotRevoked,
  type ClusterMember,
  type ClusterMetadataClaims,
  findNode,
} from '../../trust-anchor/index.js';

/** The peer an exchange grant is for: its city and the node SPIFFE id the grant's `aud` names. */
export interface ExchangeAudience {
  readonly city: string;
  readonly node: string;
}

function refuse(message: string): MeshError {
  return new MeshError('NOT_A_MEMBER', message, { details: { rule: 'audience' } });
}

function firstCurrentNode(metadata: ClusterMetadataClaims, member: ClusterMember): string {
  for (const node of member.nodes) {
    try {
      assertNotRevoked(metadata, { nodeSpiffeId: node.spiffe_id });
      return node.spiffe_id;
    } catch {
      // A revoked node cannot be the audience; the next listed one can.
    }
  }
  throw refuse(`${member.city} has no unrevoked node to address a grant to`);
}

/**
 * Resolves an RFC 8693 `audience`: a node SPIFFE id, or a city's entity id, of a current,
 * unrevoked member other than `ownCity`. A grant's `aud` is always a node SPIFFE id
 * (federation.md, "Exchange grant"); an entity id stands for the city's first listed,
 * unrevoked node, and any node of that city's provider accepts it (identity.md §8).
 *
 * @throws MeshError `NOT_A_MEMBER`, `CITY_REVOKED`, `NODE_REVOKED` or `INVALID_IDENTIFIER`
 */
export function resolveAudience(metadata: ClusterMetadataClaims, audience: string, ownCity: string): ExchangeAudience {
  let member: ClusterMember | undefined;
  let node: string | undefined;
  if (audience.startsWith('spiffe://')) {
    const id = parseSpiffeId(audience, 'audience');
    if (id.kind !== 'node') throw refuse(`audience ${audience} is not a node`);
    member = findNode(metadata, id.uri).member;
    node = id.uri;
  } else {
    member = metadata.members.find((m) => m.entity_id === audience);
    if (member === undefined) throw refuse(`audience ${audience} is not a member of cluster ${metadata.cluster}`);
  }
  if (member.city === ownCity) throw refuse(`audience ${audience} is this city; a grant is for a peer city`);
  assertNotRevoked(metadata, node === undefined ? { city: member.city } : { nodeSpiffeId: node });
  return { city: member.city, node: node ?? firstCurrentNode(metadata, member) };
}

/** The listed, unrevoked node SPIFFE ids of `city`: the audiences its provider accepts. */
export function ownNodes(metadata: ClusterMetadataClaims, city: string): string[] {
  const member = metadata.members.find((m) => m.city === city);
  if (member === undefined) return [];
  return member.nodes
    .map((n) => n.spiffe_id)
    .filter((id) => {
      try {
        assertNotRevoked(metadata, { nodeSpiffeId: id });
        return true;
      } catch {
        return false;
      }
    });
}
