import { parseSpiffeId } from '../../common/ids/index.js';
import { fail } from './failure.js';
import type { ClusterMember, ClusterMetadataClaims, ClusterNode, Revocation, RevocationKind } from './types.js';

/** What to check against the revocation list; every field given is checked. */
export interface RevocationQuery {
  /** A city name. */
  city?: string;
  /** A node's SPIFFE id; its city is checked too. */
  nodeSpiffeId?: string;
  /** A federation key id (anchor's or a city's). */
  kid?: string;
  /** A certificate serial number, hex (colons, case and leading zeros do not matter). */
  certificateSerial?: string;
}

/** A serial in one spelling: lowercase hex, no colons, no leading zeros. */
function normalizeSerial(serial: string): string {
  const hex = serial
    .replaceAll(':', '')
    .toLowerCase()
    .replace(/^0+(?=.)/, '');
  return hex;
}

/** The revocation of `id` as `kind`, if the list has one. */
export function findRevocation(
  metadata: ClusterMetadataClaims,
  kind: RevocationKind,
  id: string,
): Revocation | undefined {
  const wanted = kind === 'certificate' ? normalizeSerial(id) : id;
  return metadata.revocations.find(
    (r) => r.kind === kind && (kind === 'certificate' ? normalizeSerial(r.id) : r.id) === wanted,
  );
}

function revoked(revocation: Revocation) {
  return {
    id: revocation.id,
    reason: revocation.reason,
    revokedAt: revocation.revoked_at,
    version: revocation.version,
  };
}

/**
 * Refuses anything the (verified) cluster metadata revokes. Revocations take effect at
 * once; `revoked_at` is informational. A node of a revoked city is refused as the city.
 * Certificates have no code of their own: a revoked one is `CERTIFICATE_INVALID` with
 * rule `certificate-revoked`.
 *
 * @throws MeshError `CITY_REVOKED`, `NODE_REVOKED`, `KEY_REVOKED` or `CERTIFICATE_INVALID`
 * @throws MeshError `INVALID_IDENTIFIER` when `nodeSpiffeId` does not parse
 */
export function assertNotRevoked(metadata: ClusterMetadataClaims, query: RevocationQuery): void {
  const cities = new Set<string>();
  if (query.city !== undefined) cities.add(query.city);
  const node = query.nodeSpiffeId === undefined ? undefined : parseSpiffeId(query.nodeSpiffeId, 'nodeSpiffeId');
  if (node !== undefined && node.cluster === metadata.cluster) cities.add(node.city);
  for (const city of cities) {
    const r = findRevocation(metadata, 'city', city);
    if (r !== undefined)
      throw fail('CITY_REVOKED', 'city-revoked', `city ${city} is revoked: ${r.reason}`, { city, ...revoked(r) });
  }
  if (node !== undefined) {
    const r = findRevocation(metadata, 'node', node.uri);
    if (r !== undefined)
      throw fail('NODE_REVOKED', 'node-revoked', `node ${node.uri} is revoked: ${r.reason}`, revoked(r));
  }
  if (query.kid !== undefined) {
    const r = findRevocation(metadata, 'key', query.kid);
    if (r !== undefined)
      throw fail('KEY_REVOKED', 'key-revoked', `key ${query.kid} is revoked: ${r.reason}`, {
        kid: query.kid,
        ...revoked(r),
      });
  }
  if (query.certificateSerial !== undefined) {
    const r = findRevocation(metadata, 'certificate', query.certificateSerial);
    if (r !== undefined) {
      throw fail(
        'CERTIFICATE_INVALID',
        'certificate-revoked',
        `certificate ${query.certificateSerial} is revoked: ${r.reason}`,
        revoked(r),
      );
    }
  }
}

/**
 * The member entry of `city`.
 *
 * @throws MeshError `NOT_A_MEMBER` when the cluster metadata does not list it
 */
export function findMember(metadata: ClusterMetadataClaims, city: string): ClusterMember {
  const member = metadata.members.find((m) => m.city === city);
  if (member === undefined) {
    throw fail('NOT_A_MEMBER', 'city-not-member', `${city} is not a member of cluster ${metadata.cluster}`, {
      city,
      cluster: metadata.cluster,
    });
  }
  return member;
}

/**
 * The node entry of a node SPIFFE id, and its city's member entry.
 *
 * @throws MeshError `NOT_A_MEMBER` when the id is of another cluster or the node is not listed
 * @throws MeshError `INVALID_IDENTIFIER` when the id does not parse
 */
export function findNode(
  metadata: ClusterMetadataClaims,
  nodeSpiffeId: string,
): { member: ClusterMember; node: ClusterNode } {
  const id = parseSpiffeId(nodeSpiffeId, 'nodeSpiffeId');
  if (id.cluster !== metadata.cluster) {
    throw fail('NOT_A_MEMBER', 'other-cluster', `${id.uri} belongs to cluster ${id.cluster}, not ${metadata.cluster}`, {
      cluster: id.cluster,
    });
  }
  const member = findMember(metadata, id.city);
  const node = member.nodes.find((n) => n.spiffe_id === id.uri);
  if (node === undefined)
    throw fail('NOT_A_MEMBER', 'node-not-member', `${id.uri} is not a node of ${id.city}`, { spiffeId: id.uri });
  return { member, node };
}
