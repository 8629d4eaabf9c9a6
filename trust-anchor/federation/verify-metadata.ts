import { sha256Canonical } from '../../common/canonical-json.js';
import { deepFreeze } from '../../common/config/deep-freeze.js';
import { isMeshError } from '../../common/errors/mesh-error.js';
import { parseEntityId } from './entity-id.js';
import { fail, within } from './failure.js';
import type { Instant } from './instant.js';
import { hasPrivateMembers, publicJwk, sameKeyMaterial } from './jwks.js';
import { clusterMetadataSchema, parseClaims } from './schemas.js';
import { CLUSTER_METADATA_TYP, type ClusterMetadataClaims, type JwkSet } from './types.js';
import { verifyJws } from './verify-jws.js';

/** Options of {@link verifyClusterMetadata}. */
export interface VerifyClusterMetadataOptions {
  /** The pinned anchor keys: during a rollover, current and next. */
  anchorKeys: JwkSet;
  now: Instant;
  /** The cluster this verifier belongs to. */
  expectedCluster: string;
  /** The anchor's entity id, when known (`TOKEN_ISSUER_MISMATCH`). */
  expectedIssuer?: string;
  /** The version already accepted: older is a rollback; equal only with the same content. */
  minVersion?: number;
  /** `digest` of the document accepted at `minVersion`; without it an equal version is refused. */
  acceptedDigest?: string;
  leewaySeconds?: number;
  /** Accept `http` entity ids on loopback hosts (development only). */
  allowLoopbackHttp?: boolean;
}

/** Cluster metadata that verified. Frozen: the checks must keep holding for whoever holds it. */
export interface VerifiedClusterMetadata {
  metadata: ClusterMetadataClaims;
  version: number;
  /** SHA-256 of the canonical (RFC 8785) claims, base64url: pass it back as `acceptedDigest`. */
  digest: string;
  /** The pinned anchor key that signed it. */
  kid: string;
}

/** Results produced by {@link verifyClusterMetadata}, so that pins only ever follow verified documents. */
const verifiedResults = new WeakSet<VerifiedClusterMetadata>();

function checkOptions(options: VerifyClusterMetadataOptions): void {
  if (typeof options?.anchorKeys !== 'object' || !Array.isArray(options.anchorKeys?.keys)) {
    throw new TypeError('anchorKeys must be a JWK Set ({ keys: JWK[] })');
  }
  if (typeof options.expectedCluster !== 'string' || options.expectedCluster === '')
    throw new TypeError('expectedCluster must be a cluster name');
  if (options.minVersion !== undefined && (!Number.isSafeInteger(options.minVersion) || options.minVersion < 0)) {
    throw new TypeError('minVersion must be a non-negative integer');
  }
  if (options.acceptedDigest !== undefined && typeof options.acceptedDigest !== 'string')
    throw new TypeError('acceptedDigest must be a string');
}

/**
 * Largest cluster metadata document verified. It lists every member with its CA
 * certificates, nodes and revocations: ~55 KB at 27 cities, and overlapping CA renewals
 * or a national cluster grow it past the 64 KiB kept for other tokens.
 */
export const MAX_CLUSTER_METADATA_BYTES = 2 * 1024 * 1024;

/**
 * Verifies signed cluster metadata (`typ: citymesh-cluster-metadata+jwt`):
 * - the strict JWS checks of {@link verifyJws} against the pinned anchor keys
 *   (`TOKEN_KEY_UNKNOWN`, `TOKEN_SIGNATURE_INVALID`, `TOKEN_TYPE_MISMATCH`, …);
 * - `exp` past → `METADATA_EXPIRED` (the offline budget is spent), not `TOKEN_EXPIRED`;
 * - claims well-formed and consistent (`TOKEN_MALFORMED`): trust domains, node SPIFFE ids;
 * - `sub == iss` and `cluster == expectedCluster` (`STATEMENT_SUBJECT_MISMATCH`), `iss` as
 *   expected (`TOKEN_ISSUER_MISMATCH`);
 * - `exp - iat` within `parameters.metadata_lifetime_seconds` (`TOKEN_LIFETIME_EXCEEDED`);
 * - `version` not below `minVersion`, and equal only with identical content
 *   (`METADATA_ROLLBACK`).
 *
 * @throws MeshError as above
 * @throws TypeError when an option is invalid
 */
export async function verifyClusterMetadata(
  jwt: unknown,
  options: VerifyClusterMetadataOptions,
): Promise<VerifiedClusterMetadata> {
  checkOptions(options);
  let verified: Awaited<ReturnType<typeof verifyJws>>;
  try {
    verified = await verifyJws(jwt, {
      expectedTyp: CLUSTER_METADATA_TYP,
      maxBytes: MAX_CLUSTER_METADATA_BYTES,
      keys: options.anchorKeys,
      now: options.now,
      leewaySeconds: options.leewaySeconds,
    });
  } catch (err) {
    if (isMeshError(err, 'TOKEN_EXPIRED')) {
      throw within(err, 'cluster metadata expired; the offline budget is spent', {}, 'METADATA_EXPIRED');
    }
    throw err;
  }
  const metadata = parseClaims<ClusterMetadataClaims>(clusterMetadataSchema, verified.payload, 'cluster metadata');
  const allowHttp = options.allowLoopbackHttp ?? false;
  parseEntityId(metadata.iss, 'iss', allowHttp);
  for (const [i, member] of metadata.members.entries())
    parseEntityId(member.entity_id, `members.${i}.entity_id`, allowHttp);

  if (metadata.sub !== metadata.iss) {
    throw fail('STATEMENT_SUBJECT_MISMATCH', 'sub-equals-iss', 'cluster metadata must have sub equal to iss', {
      sub: metadata.sub,
    });
  }
  if (options.expectedIssuer !== undefined && metadata.iss !== options.expectedIssuer) {
    throw fail(
      'TOKEN_ISSUER_MISMATCH',
      'iss',
      `cluster metadata is issued by ${metadata.iss}, not ${options.expectedIssuer}`,
      { iss: metadata.iss },
    );
  }
  if (metadata.cluster !== options.expectedCluster) {
    throw fail(
      'STATEMENT_SUBJECT_MISMATCH',
      'cluster',
      `cluster metadata is for ${metadata.cluster}, not ${options.expectedCluster}`,
      {
        cluster: metadata.cluster,
        expected: options.expectedCluster,
      },
    );
  }
  const lifetime = metadata.exp - metadata.iat;
  if (lifetime > metadata.parameters.metadata_lifetime_seconds) {
    throw fail(
      'TOKEN_LIFETIME_EXCEEDED',
      'metadata-lifetime',
      `lives ${lifetime} s, longer than metadata_lifetime_seconds`,
      {
        lifetime,
        maxLifetime: metadata.parameters.metadata_lifetime_seconds,
      },
    );
  }

  const digest = sha256Canonical(verified.payload);
  if (options.minVersion !== undefined) {
    if (metadata.version < options.minVersion) {
      throw fail(
        'METADATA_ROLLBACK',
        'older-version',
        `version ${metadata.version} is older than the accepted ${options.minVersion}`,
        {
          version: metadata.version,
          minVersion: options.minVersion,
        },
      );
    }
    if (metadata.version === options.minVersion && digest !== options.acceptedDigest) {
      throw fail(
        'METADATA_ROLLBACK',
        'same-version-other-content',
        `version ${metadata.version} was accepted with other content`,
        {
          version: metadata.version,
        },
      );
    }
  }
  const result: VerifiedClusterMetadata = { metadata, version: metadata.version, digest, kid: verified.header.kid };
  deepFreeze(result);
  verifiedResults.add(result);
  return result;
}

/**
 * The anchor keys to pin after accepting `verified` (two-stage rollover): the keys it
 * announces in `anchor_keys` join the pins, since a currently pinned key signed them; keys
 * its revocation list names (`kind: 'key'`) leave them. Private members are never kept.
 * Publish (vN signed by the old key announces the next) → activate (vN+1 signed by the
 * next key) therefore never fails for a verifier that saw vN; a key once revoked is no
 * longer pinned, so what it signs afterwards fails with `TOKEN_KEY_UNKNOWN`.
 *
 * @throws TypeError when `verified` did not come from {@link verifyClusterMetadata}
 * @throws MeshError `TOKEN_KEY_UNKNOWN` when `current` does not pin the key that signed it
 * @throws MeshError `TRUST_CHAIN_INVALID` (rule `anchor-key-conflict`) when it announces other key material under a pinned `kid`
 */
export function nextPinnedAnchorKeys(current: JwkSet, verified: VerifiedClusterMetadata): JwkSet {
  if (!verifiedResults.has(verified)) throw new TypeError('verified must be a result of verifyClusterMetadata');
  const signer = current.keys.find((key) => key.kid === verified.kid);
  if (signer === undefined) {
    throw fail(
      'TOKEN_KEY_UNKNOWN',
      'signed-by-unpinned-key',
      `the metadata was signed by ${verified.kid}, which these pins do not hold`,
      {
        kid: verified.kid,
      },
    );
  }
  const revoked = new Set(verified.metadata.revocations.filter((r) => r.kind === 'key').map((r) => r.id));
  const pins = new Map<string, (typeof current.keys)[number]>();
  for (const key of [...current.keys, ...verified.metadata.anchor_keys.keys]) {
    if (key.kid === undefined || revoked.has(key.kid)) continue;
    const pinned = pins.get(key.kid);
    // Unchanged public pins keep their identity, so their imported keys stay cached.
    if (pinned === undefined) pins.set(key.kid, hasPrivateMembers(key) ? publicJwk(key) : key);
    else if (!sameKeyMaterial(pinned, key)) {
      throw fail(
        'TRUST_CHAIN_INVALID',
        'anchor-key-conflict',
        `key ${key.kid} is announced with other key material than pinned`,
        { kid: key.kid },
      );
    }
  }
  return { keys: [...pins.values()] };
}
