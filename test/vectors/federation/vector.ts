import type { ErrorCode } from '../../../common/errors/registry.js';
import {
  assertNotRevoked,
  findMember,
  type JwkSet,
  type RevocationQuery,
  type TrustAnchorPin,
  verifyClusterMetadata,
  verifyEntityStatement,
  verifyTrustChain,
} from '../../../trust-anchor/federation/index.js';

/** Cluster metadata to verify first (pinned anchor keys as public JWKs). */
export interface MetadataInput {
  jwt: string;
  anchorKeys: JwkSet;
  expectedCluster: string;
  minVersion?: number;
  acceptedDigest?: string;
}

/** What a vector feeds to which verifier. */
export type VectorInput =
  | { verify: 'entity-statement'; jwt: string; keys?: JwkSet; fetchedFor?: string; expectedIss?: string }
  | {
      verify: 'trust-chain';
      chain: string[];
      trustAnchors: TrustAnchorPin[];
      subjectEntityId: string;
      maxPathLength?: number;
      /** Verified first, then passed as `clusterMetadata`. */
      clusterMetadata?: MetadataInput;
    }
  | ({ verify: 'cluster-metadata' } & MetadataInput)
  | { verify: 'revocation'; metadata: MetadataInput; query?: RevocationQuery; member?: string };

/** One federation test vector file. */
export interface FederationVector {
  name: string;
  /** The rule it exercises; several vectors may share one (e.g. `alg: none` casings). */
  rule: string;
  description: string;
  /** NumericDate at which to verify. */
  now: number;
  input: VectorInput;
  /**
   * Refused with `code` by the check named `check` (the error's `details.rule`), or
   * accepted with a result matching the other members.
   */
  expect: { code: ErrorCode; check: string } | ({ ok: true } & Record<string, unknown>);
}

async function metadataOf(input: MetadataInput, now: number) {
  return verifyClusterMetadata(input.jwt, {
    anchorKeys: input.anchorKeys,
    now,
    expectedCluster: input.expectedCluster,
    ...(input.minVersion === undefined ? {} : { minVersion: input.minVersion }),
    ...(input.acceptedDigest === undefined ? {} : { acceptedDigest: input.acceptedDigest }),
  });
}

/**
 * Runs a vector's input through the verifier it names and returns a summary of the
 * result (compared with `expect` by positive vectors); refusals throw the MeshError.
 */
export async function runVector(vector: FederationVector): Promise<Record<string, unknown>> {
  const { input, now } = vector;
  switch (input.verify) {
    case 'entity-statement': {
      const result = await verifyEntityStatement(input.jwt, {
        now,
        ...(input.keys === undefined ? {} : { keys: input.keys }),
        ...(input.fetchedFor === undefined ? {} : { fetchedFor: input.fetchedFor }),
        ...(input.expectedIss === undefined ? {} : { expectedIss: input.expectedIss }),
      });
      return { iss: result.claims.iss, sub: result.claims.sub, kid: result.kid, entityConfiguration: result.entityConfiguration };
    }
    case 'trust-chain': {
      const clusterMetadata = input.clusterMetadata === undefined ? undefined : (await metadataOf(input.clusterMetadata, now)).metadata;
      const result = await verifyTrustChain(input.chain, {
        trustAnchors: input.trustAnchors,
        now,
        subjectEntityId: input.subjectEntityId,
        ...(input.maxPathLength === undefined ? {} : { maxPathLength: input.maxPathLength }),
        ...(clusterMetadata === undefined ? {} : { clusterMetadata }),
      });
      return {
        leaf: result.leaf.sub,
        anchor: result.anchorEntityId,
        exp: result.exp,
        entityTypes: Object.keys(result.metadata).sort(),
        removedEntityTypes: result.removedEntityTypes,
      };
    }
    case 'cluster-metadata': {
      const result = await metadataOf(input, now);
      return { version: result.version, digest: result.digest, kid: result.kid, members: result.metadata.members.map((m) => m.city) };
    }
    case 'revocation': {
      const { metadata } = await metadataOf(input.metadata, now);
      if (input.query !== undefined) assertNotRevoked(metadata, input.query);
      if (input.member !== undefined) findMember(metadata, input.member);
      return {};
    }
  }
}
