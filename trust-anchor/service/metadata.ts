import { X509Certificate } from 'node:crypto';
import type { AnchorIdentity, AnchorMember, Revocation, StoredKey } from '../../common/stores/index.js';
import type { ClusterMember, ClusterMetadataClaims, ClusterNode, JwkSet } from '../federation/index.js';
import { publishedJwk } from './key-material.js';

/** Cluster parameters the anchor publishes; nodes read them from verified metadata. */
export interface ClusterParameters {
  /** The offline budget: `exp - iat` of every metadata version. */
  readonly metadataLifetimeSeconds: number;
  /** Lifetime of node certificates, which nodes issue themselves from their city CA. */
  readonly certificateLifetimeHours: number;
  /** Lifetime of the city intermediate CAs the anchor signs. */
  readonly cityCaLifetimeHours: number;
}

/** The anchor's own gossip identity, signed into every metadata version as the `gossip` claim. */
export interface AnchorGossipBinding {
  /** Base58 Ed25519 peer id of the anchor's libp2p key. */
  readonly peerId: string;
  /** The multiaddr peers dial to reach the anchor's publisher. */
  readonly address: string;
}

/** The entity id every node of a city shares: the one its first node enrolled with. */
export function cityEntityId(member: AnchorMember): string {
  const first = [...member.nodes].sort((a, b) => a.enrolledAt.getTime() - b.enrolledAt.getTime())[0];
  if (first === undefined) throw new TypeError(`member ${member.city} has no nodes`);
  return first.entityId;
}

/** The union of the federation keys of a city's nodes, by kid. */
export function cityJwks(member: AnchorMember): JwkSet {
  const byKid = new Map<string, JwkSet['keys'][number]>();
  for (const node of member.nodes) {
    for (const jwk of node.federationJwks) byKid.set(String(jwk.kid), { ...jwk });
  }
  return { keys: [...byKid.values()] };
}

/**
 * The CA certificates a member's leaves may chain to: each node's current CA, newest
 * first, then any previous CA of a renewal that has not expired yet.
 */
export function memberCaCertificates(member: AnchorMember, nowSeconds: number): string[] {
  const current = member.nodes.map((n) => n.caCertificatePem);
  const previous = member.nodes
    .map((n) => n.previousCaCertificatePem)
    .filter(
      (pem): pem is string =>
        pem !== undefined && new Date(new X509Certificate(pem).validTo).getTime() > nowSeconds * 1000,
    );
  return [...current, ...previous];
}

/** A member as cluster metadata lists it. */
export function toClusterMember(member: AnchorMember, nowSeconds: number): ClusterMember {
  return {
    city: member.city,
    entity_id: cityEntityId(member),
    region_code: member.regionCode,
    trust_domain: member.trustDomain,
    federation_jwks: cityJwks(member),
    ca_certificates: memberCaCertificates(member, nowSeconds),
    nodes: member.nodes.map(
      (n): ClusterNode => ({
        name: n.name,
        spiffe_id: n.spiffeId,
        grpc_endpoint: n.grpcEndpoint,
        https_endpoint: n.entityId,
        ...(n.gossipPeerId !== undefined && n.gossipAddress !== undefined
          ? { gossip_peer_id: n.gossipPeerId, gossip_address: n.gossipAddress }
          : {}),
      }),
    ),
  };
}

/**
 * The claims of metadata version `version`: every member and node, the anchor's
 * published keys (active and next, so verifiers can pin the next key before it signs),
 * the parameters, the full revocation list, and where the anchor gossips when it does.
 */
export function buildMetadataClaims(input: {
  identity: AnchorIdentity;
  version: number;
  nowSeconds: number;
  parameters: ClusterParameters;
  members: readonly AnchorMember[];
  revocations: readonly Revocation[];
  anchorKeys: readonly StoredKey[];
  gossip?: AnchorGossipBinding;
}): ClusterMetadataClaims {
  const { identity, parameters } = input;
  return {
    iss: identity.entityId,
    sub: identity.entityId,
    cluster: identity.cluster,
    version: input.version,
    iat: input.nowSeconds,
    exp: input.nowSeconds + parameters.metadataLifetimeSeconds,
    anchor_keys: { keys: input.anchorKeys.map(publishedJwk) },
    members: input.members.filter((m) => m.nodes.length > 0).map((m) => toClusterMember(m, input.nowSeconds)),
    parameters: {
      metadata_lifetime_seconds: parameters.metadataLifetimeSeconds,
      certificate_lifetime_hours: parameters.certificateLifetimeHours,
      city_ca_lifetime_hours: parameters.cityCaLifetimeHours,
    },
    revocations: input.revocations.map((r) => ({
      kind: r.kind,
      id: r.id,
      reason: r.reason,
      revoked_at: Math.floor(r.revokedAt.getTime() / 1000),
      version: r.version,
    })),
    ...(input.gossip ? { gossip: { anchor_peer_id: input.gossip.peerId, anchor_address: input.gossip.address } } : {}),
  };
}
