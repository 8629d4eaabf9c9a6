import { sameContent } from '../../common/content-key.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import type {
  AnchorIdentity,
  AnchorMember,
  AnchorNode,
  CaRenewal,
  JoinTokenRecord,
  MetadataVersion,
  Revocation,
} from '../../common/stores/anchor-store.js';
import { clone } from './clone.js';
import { alreadyExists } from './errors.js';
import {
  malformed,
  requireDate,
  requireHex64,
  requireInteger,
  requireOneOf,
  requirePlainObject,
  requireText,
} from './validate.js';

export const REVOCATION_KINDS: readonly Revocation['kind'][] = ['city', 'node', 'key', 'certificate'];

/** What `enrol` takes, as the store interface spells it. */
export type Enrolment = {
  readonly tokenId: string;
  readonly usedAt: Date;
  readonly member: Omit<AnchorMember, 'nodes'>;
  readonly node: AnchorNode;
  readonly metadata: MetadataVersion;
};

export function validateIdentity(identity: AnchorIdentity): AnchorIdentity {
  requireText('cluster', identity.cluster);
  requireText('entityId', identity.entityId);
  requireText('rootCertificatePem', identity.rootCertificatePem);
  requireDate('createdAt', identity.createdAt);
  return clone(identity);
}

/** The identity is written once: an identical one again is a retried `anchor init`, anything else a second anchor. */
export function checkIdentityRewrite(stored: AnchorIdentity, incoming: AnchorIdentity): void {
  if (!sameContent(stored, incoming)) throw alreadyExists('the anchor identity', { cluster: stored.cluster });
}

/**
 * Checks a new token. It may not arrive already used: a token becomes used only through
 * `enrol`, together with the node and metadata version it produced.
 */
export function validateJoinToken(record: JoinTokenRecord): JoinTokenRecord {
  requireText('tokenId', record.tokenId);
  requireText('city', record.city);
  requireHex64('secretSha256', record.secretSha256);
  requireDate('createdAt', record.createdAt);
  requireDate('expiresAt', record.expiresAt);
  if (record.usedAt !== undefined) malformed('usedAt', 'a new join token cannot be used already');
  if (record.usedBy !== undefined) malformed('usedBy', 'a new join token cannot be used already');
  return clone(record);
}

export function joinTokenExists(tokenId: string): MeshError {
  return alreadyExists(`join token ${tokenId}`, { tokenId });
}

function validateNode(node: AnchorNode): void {
  requireText('node.city', node.city);
  requireText('node.name', node.name);
  requireText('node.spiffeId', node.spiffeId);
  requireText('node.entityId', node.entityId);
  requireText('node.grpcEndpoint', node.grpcEndpoint);
  if (!Array.isArray(node.federationJwks)) malformed('node.federationJwks', 'must be an array of JWKs');
  node.federationJwks.forEach((jwk, i) => {
    requireText(`node.federationJwks[${i}].kty`, requirePlainObject(`node.federationJwks[${i}]`, jwk).kty);
  });
  requireText('node.caCertificatePem', node.caCertificatePem);
  requireText('node.caSerial', node.caSerial);
  requireDate('node.enrolledAt', node.enrolledAt);
  if (node.gossipPeerId !== undefined) requireText('node.gossipPeerId', node.gossipPeerId);
  if (node.gossipAddress !== undefined) requireText('node.gossipAddress', node.gossipAddress);
  if ((node.gossipPeerId === undefined) !== (node.gossipAddress === undefined)) {
    malformed(
      node.gossipPeerId === undefined ? 'node.gossipPeerId' : 'node.gossipAddress',
      'gossipPeerId and gossipAddress are set together or not at all',
    );
  }
}

/**
 * A gossip peer id names one node: a second node presenting it would receive the first
 * one's identity on the mesh. `holder` is the node that has it.
 */
export function gossipPeerIdTaken(node: AnchorNode, holder: Pick<AnchorNode, 'spiffeId'>): MeshError {
  return new MeshError(
    'ALREADY_EXISTS',
    `node.gossipPeerId: ${node.gossipPeerId} is already bound to ${holder.spiffeId}; every node needs its own gossip key`,
    { details: { field: 'node.gossipPeerId', boundTo: holder.spiffeId } },
  );
}

/** True when `other` is a different node than `node` (another city or name). */
export function isOtherNode(
  node: Pick<AnchorNode, 'city' | 'name'>,
  other: Pick<AnchorNode, 'city' | 'name'>,
): boolean {
  return node.city !== other.city || node.name !== other.name;
}

function validateMetadataAt(field: string, metadata: MetadataVersion): void {
  requireInteger(`${field}.version`, metadata.version, 1);
  requireText(`${field}.jwt`, metadata.jwt);
  requireDate(`${field}.issuedAt`, metadata.issuedAt);
  requireDate(`${field}.expiresAt`, metadata.expiresAt);
}

export function validateMetadata(metadata: MetadataVersion): MetadataVersion {
  validateMetadataAt('metadata', metadata);
  return clone(metadata);
}

/** Checks an enrolment's shape; returns a normalised copy. The node must belong to the member it enrols into. */
export function validateEnrolment(input: Enrolment): Enrolment {
  requireText('tokenId', input.tokenId);
  requireDate('usedAt', input.usedAt);
  requireText('member.city', input.member.city);
  requireText('member.regionCode', input.member.regionCode);
  requireText('member.trustDomain', input.member.trustDomain);
  requireDate('member.joinedAt', input.member.joinedAt);
  validateNode(input.node);
  if (input.node.city !== input.member.city) malformed('node.city', 'must be the city of the member it enrols into');
  validateMetadataAt('metadata', input.metadata);
  // Only the member's own fields: a caller passing a whole AnchorMember must not smuggle nodes in.
  const { city, regionCode, trustDomain, joinedAt } = input.member;
  return clone({ ...input, member: { city, regionCode, trustDomain, joinedAt } });
}

/**
 * The token an enrolment consumes, as it will be stored once used. Throws
 * `JOIN_TOKEN_INVALID` for a token the anchor never issued, `JOIN_TOKEN_USED` for one an
 * earlier enrolment consumed (the compare-and-set that makes each token single-use).
 */
export function consumeToken(stored: JoinTokenRecord | undefined, input: Enrolment): JoinTokenRecord {
  if (stored === undefined) {
    throw new MeshError('JOIN_TOKEN_INVALID', `no join token ${input.tokenId}`, {
      details: { tokenId: input.tokenId },
    });
  }
  if (stored.usedAt !== undefined) {
    throw new MeshError('JOIN_TOKEN_USED', `join token ${input.tokenId} was already used`, {
      details: { tokenId: input.tokenId },
    });
  }
  return { ...stored, usedAt: input.usedAt, usedBy: input.node.spiffeId };
}

/**
 * Metadata versions are contiguous from 1, so a version that is not `latest + 1` means a
 * concurrent writer published first (or the caller read a stale latest): `VERSION_CONFLICT`.
 */
export function checkNextVersion(latest: number, metadata: MetadataVersion): void {
  if (metadata.version !== latest + 1) {
    throw new MeshError(
      'VERSION_CONFLICT',
      `metadata version ${metadata.version} does not follow the latest version ${latest}`,
      { details: { version: metadata.version, expectedVersion: latest + 1 } },
    );
  }
}

/**
 * Checks a revocation and the metadata version that publishes it; the revocation must
 * name that version, as it is the one that first carries it.
 */
export function validateRevocation(
  revocation: Revocation,
  metadata: MetadataVersion,
): { revocation: Revocation; metadata: MetadataVersion } {
  requireOneOf('revocation.kind', revocation.kind, REVOCATION_KINDS);
  requireText('revocation.id', revocation.id);
  requireText('revocation.reason', revocation.reason);
  requireDate('revocation.revokedAt', revocation.revokedAt);
  requireInteger('revocation.version', revocation.version, 1);
  validateMetadataAt('metadata', metadata);
  if (revocation.version !== metadata.version) {
    malformed('revocation.version', 'must be the version of the metadata that publishes it');
  }
  return { revocation: clone(revocation), metadata: clone(metadata) };
}

/** A revocation is permanent and listed once: revoking the same thing again is refused. */
export function revocationExists(revocation: Revocation): MeshError {
  return alreadyExists(`revocation of ${revocation.kind} ${revocation.id}`, {
    kind: revocation.kind,
    id: revocation.id,
  });
}

/** Checks a CA renewal's shape; returns a copy. */
export function validateCaRenewal(renewal: CaRenewal): CaRenewal {
  requireText('renewal.city', renewal.city);
  requireText('renewal.name', renewal.name);
  requireText('renewal.caCertificatePem', renewal.caCertificatePem);
  requireText('renewal.caSerial', renewal.caSerial);
  return clone(renewal);
}

export function unknownNode(renewal: Pick<CaRenewal, 'city' | 'name'>): MeshError {
  return new MeshError('MEMBER_NOT_FOUND', `no enrolled node ${renewal.name} in ${renewal.city}`, {
    details: { city: renewal.city, node: renewal.name },
  });
}
