import { isMeshError, MeshError } from '../../common/errors/mesh-error.js';
import { fail, within } from './failure.js';
import type { Instant } from './instant.js';
import { namingViolation } from './naming-constraints.js';
import { assertNotRevoked, findMember } from './revocation.js';
import { citymeshNodeSchema, parseClaims } from './schemas.js';
import {
  CITYMESH_NODE_ENTITY_TYPE,
  type CitymeshNodeMetadata,
  type ClusterMetadataClaims,
  ENTITY_STATEMENT_TYP,
  type EntityMetadata,
  type EntityStatementClaims,
  FEDERATION_ENTITY_TYPE,
  type JwkSet,
  type ResolvedEntityMetadata,
} from './types.js';
import { decodeUnverified } from './verify-jws.js';
import { type VerifiedEntityStatement, verifyEntityStatement } from './verify-statement.js';

/** Default cap on intermediates between the anchor and the subject (chain length ≤ 4). */
export const DEFAULT_MAX_PATH_LENGTH = 1;
/** Default cap on the subject's `authority_hints` (fan-out a resolver would follow). */
export const DEFAULT_MAX_AUTHORITY_HINTS = 4;
/** Largest `maxPathLength` an option may ask for. */
export const MAX_PATH_LENGTH_LIMIT = 8;

/** A pinned trust anchor: its entity id and the keys configured out of band. */
export interface TrustAnchorPin {
  entityId: string;
  jwks: JwkSet;
}

/** Options of {@link verifyTrustChain}. */
export interface VerifyTrustChainOptions {
  /** Pinned anchors; the chain must end at one of them, verified with its pinned keys. */
  trustAnchors: readonly TrustAnchorPin[];
  now: Instant;
  /** The entity the chain is for; the first statement must be its entity configuration. */
  subjectEntityId: string;
  /** Most intermediates allowed; {@link DEFAULT_MAX_PATH_LENGTH} by default. */
  maxPathLength?: number;
  /** Most `authority_hints` the subject may list; {@link DEFAULT_MAX_AUTHORITY_HINTS} by default. */
  maxAuthorityHints?: number;
  leewaySeconds?: number;
  /**
   * Verified cluster metadata. When given, every signing `kid` in the chain is checked
   * against its key revocations (`KEY_REVOKED`), and a `citymesh_node` subject must be a
   * member of that cluster (`NOT_A_MEMBER`) whose city is not revoked (`CITY_REVOKED`).
   */
  clusterMetadata?: ClusterMetadataClaims;
  /** Accept `http` entity ids on loopback hosts (development only). */
  allowLoopbackHttp?: boolean;
}

/** The result of a verified trust chain. */
export interface VerifiedTrustChain {
  /** The subject's entity configuration. */
  leaf: EntityStatementClaims;
  anchorEntityId: string;
  /** The chain expires with its first statement to expire: min of all `exp`. */
  exp: number;
  /**
   * The subject's metadata: its entity configuration's, with the parameters of its
   * immediate superior's subordinate statement over them, less entity types
   * `allowed_entity_types` removes.
   */
  metadata: ResolvedEntityMetadata;
  /** Entity types dropped by `allowed_entity_types`. */
  removedEntityTypes: string[];
  /** Every statement's claims, in chain order. */
  statements: EntityStatementClaims[];
}

function checkOptions(options: VerifyTrustChainOptions): { maxPathLength: number; maxAuthorityHints: number } {
  if (!Array.isArray(options.trustAnchors) || options.trustAnchors.length === 0) {
    throw new TypeError('trustAnchors must be a non-empty array of { entityId, jwks }');
  }
  for (const [i, pin] of options.trustAnchors.entries()) {
    if (typeof pin?.entityId !== 'string' || typeof pin.jwks !== 'object' || !Array.isArray(pin.jwks?.keys)) {
      throw new TypeError(`trustAnchors[${i}] must be { entityId: string, jwks: { keys: JWK[] } }`);
    }
  }
  if (typeof options.subjectEntityId !== 'string') throw new TypeError('subjectEntityId must be a string');
  const maxPathLength = options.maxPathLength ?? DEFAULT_MAX_PATH_LENGTH;
  if (!Number.isSafeInteger(maxPathLength) || maxPathLength < 0 || maxPathLength > MAX_PATH_LENGTH_LIMIT) {
    throw new TypeError(`maxPathLength must be an integer from 0 to ${MAX_PATH_LENGTH_LIMIT}`);
  }
  const maxAuthorityHints = options.maxAuthorityHints ?? DEFAULT_MAX_AUTHORITY_HINTS;
  if (!Number.isSafeInteger(maxAuthorityHints) || maxAuthorityHints < 1)
    throw new TypeError('maxAuthorityHints must be a positive integer');
  return { maxPathLength, maxAuthorityHints };
}

const chainInvalid = (rule: string, message: string, details: Record<string, string | number | null> = {}) =>
  fail('TRUST_CHAIN_INVALID', rule, message, details);

/** Adds the statement's position to whatever it failed with. */
async function atIndex<T>(index: number, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (isMeshError(err)) throw within(err, `trust chain statement ${index}`, { chainIndex: index });
    throw err;
  }
}

/**
 * Verifies the anchor's entity configuration against the pinned keys, never the keys it
 * carries. A key or signature that does not match a pin means the chain does not reach a
 * pinned anchor: `TRUST_CHAIN_INVALID`.
 */
async function verifyAnchor(
  jwt: string,
  index: number,
  options: VerifyTrustChainOptions,
): Promise<VerifiedEntityStatement> {
  const common = {
    now: options.now,
    leewaySeconds: options.leewaySeconds,
    allowLoopbackHttp: options.allowLoopbackHttp,
  };
  // Which pin applies: read `iss` before verifying, then verify with that pin only.
  const { payload } = await atIndex(index, async () =>
    decodeUnverified(jwt, { expectedTyp: ENTITY_STATEMENT_TYP, ...common }),
  );
  const pin = options.trustAnchors.find((anchor) => anchor.entityId === payload.iss);
  if (pin === undefined || payload.iss !== payload.sub) {
    throw chainInvalid(
      'anchor-not-pinned',
      `the chain ends at ${String(payload.iss)}, which is not a pinned trust anchor`,
      { chainIndex: index },
    );
  }
  try {
    return await verifyEntityStatement(jwt, { ...common, keys: pin.jwks, fetchedFor: pin.entityId });
  } catch (err) {
    if (isMeshError(err) && (err.code === 'TOKEN_KEY_UNKNOWN' || err.code === 'TOKEN_SIGNATURE_INVALID')) {
      throw fail(
        'TRUST_CHAIN_INVALID',
        'anchor-not-pinned',
        `the anchor configuration of ${pin.entityId} does not verify with its pinned keys: ${err.message}`,
        { chainIndex: index, cause: err.code },
        err,
      );
    }
    if (isMeshError(err)) throw within(err, `trust chain statement ${index}`, { chainIndex: index });
    throw err;
  }
}

/** Applies the `constraints` of each subordinate statement (OpenID Federation 1.0 §6.2). */
function applyConstraints(statements: readonly EntityStatementClaims[], metadata: EntityMetadata): string[] {
  const removed = new Set<string>();
  for (let j = 1; j < statements.length - 1; j++) {
    const constraints = statements[j]!.constraints;
    if (constraints === undefined) continue;
    const issuer = statements[j]!.iss;
    // §6.2.1: intermediates between the issuer of this statement and the subject: es[1..j-1].
    const intermediates = j - 1;
    if (constraints.max_path_length !== undefined && intermediates > constraints.max_path_length) {
      throw fail(
        'TRUST_CONSTRAINT_VIOLATED',
        'max-path-length',
        `${issuer} allows ${constraints.max_path_length} intermediate(s) below it, the chain has ${intermediates}`,
        { chainIndex: j, maxPathLength: constraints.max_path_length, intermediates },
      );
    }
    // §6.2.2: the entity ids of this statement's subject and of every entity below it.
    if (constraints.naming_constraints !== undefined) {
      for (let k = 0; k <= j; k++) {
        const entityId = statements[k]!.sub;
        const violation = namingViolation(new URL(entityId).hostname, constraints.naming_constraints);
        if (violation !== undefined) {
          throw fail('TRUST_CONSTRAINT_VIOLATED', 'naming-constraints', `${issuer} constrains names: ${violation}`, {
            chainIndex: j,
            entityId,
          });
        }
      }
    }
    // §6.2.3: entity types not allowed are removed from the subject's metadata.
    if (constraints.allowed_entity_types !== undefined) {
      const allowed = new Set([FEDERATION_ENTITY_TYPE, ...constraints.allowed_entity_types]);
      for (const type of Object.keys(metadata)) {
        if (!allowed.has(type)) {
          delete metadata[type];
          removed.add(type);
        }
      }
    }
  }
  return [...removed].sort();
}

/**
 * The subject's metadata: its own, then, per entity type, the parameters its immediate
 * superior's subordinate statement sets, which take precedence (the superior vouches for
 * them: for a city, the anchor's view of its endpoints and CA wins over the city's own).
 */
function resolveMetadata(leaf: EntityStatementClaims, superior: EntityStatementClaims | undefined): EntityMetadata {
  const metadata: EntityMetadata = structuredClone(leaf.metadata ?? {});
  for (const [type, parameters] of Object.entries(superior?.metadata ?? {})) {
    metadata[type] = { ...(metadata[type] ?? {}), ...structuredClone(parameters) };
  }
  return metadata;
}

/** `citymesh_node` parameters that say who a city is: only its superior may set them. */
const CITYMESH_IDENTITY_PARAMETERS = ['cluster', 'city', 'region_code', 'trust_domain'] as const;

/**
 * A city's configuration is self-asserted: any member could claim to be `beijing` there.
 * Its identity counts only if the superior's subordinate statement sets it (and, by the
 * override rule, those values win).
 *
 * @throws MeshError `TRUST_CONSTRAINT_VIOLATED` (rule `citymesh-identity-not-vouched`)
 */
function assertIdentityVouched(superior: EntityStatementClaims): void {
  const vouched = superior.metadata?.citymesh_node ?? {};
  const missing = CITYMESH_IDENTITY_PARAMETERS.filter((parameter) => vouched[parameter] === undefined);
  if (missing.length > 0) {
    throw fail(
      'TRUST_CONSTRAINT_VIOLATED',
      'citymesh-identity-not-vouched',
      `${superior.iss} does not vouch for the citymesh_node identity of ${superior.sub} (missing ${missing.join(', ')})`,
      { chainIndex: 1, missing: missing.join(',') },
    );
  }
}

/**
 * Verifies an OpenID Federation 1.0 trust chain (§10.2), in the order
 * `[subject's entity configuration, subordinate statements…, anchor's entity configuration]`:
 * 1. length: at most `maxPathLength` intermediates (`TRUST_CHAIN_TOO_LONG`), before any
 *    crypto; a chain of one statement is allowed only for the anchor itself;
 * 2. the last statement is a pinned anchor's entity configuration, verified with the pinned
 *    keys (`TRUST_CHAIN_INVALID` otherwise);
 * 3. from the anchor down, each statement is verified with the `jwks` of the statement
 *    after it, and its `iss` must be that statement's `sub` (`TRUST_CHAIN_INVALID`);
 * 4. the first is the subject's entity configuration (`STATEMENT_SUBJECT_MISMATCH` if it is
 *    about another entity), self-signed too, listing at most `maxAuthorityHints` authority
 *    hints (`TRUST_CHAIN_TOO_LONG`), one of them its superior in the chain;
 * 5. `constraints`: `max_path_length`, `naming_constraints` on entity id hosts, and
 *    `allowed_entity_types` (`TRUST_CONSTRAINT_VIOLATED`);
 * 6. `citymesh_node` metadata, when present: its identity (`cluster`, `city`,
 *    `region_code`, `trust_domain`) must be set by the superior's statement, not only
 *    self-asserted (`TRUST_CONSTRAINT_VIOLATED`); it is well-formed and its trust domain is
 *    `<city>.<cluster>.citymesh` (`TOKEN_MALFORMED`); with `clusterMetadata`, revocations
 *    and membership.
 *
 * Per-statement failures (expired, bad signature, bad `typ`, …) keep their own code and add
 * `details.chainIndex`.
 *
 * @throws MeshError as above
 * @throws TypeError when an option is invalid
 */
export async function verifyTrustChain(chain: unknown, options: VerifyTrustChainOptions): Promise<VerifiedTrustChain> {
  const { maxPathLength, maxAuthorityHints } = checkOptions(options);
  if (!Array.isArray(chain) || chain.length === 0 || !chain.every((jwt) => typeof jwt === 'string')) {
    throw chainInvalid('shape', 'a trust chain is a non-empty array of compact JWS strings');
  }
  const jwts = chain as string[];
  const intermediates = jwts.length - 3;
  if (intermediates > maxPathLength) {
    throw fail(
      'TRUST_CHAIN_TOO_LONG',
      'max-path-length',
      `the chain has ${intermediates} intermediates, at most ${maxPathLength} are allowed`,
      {
        length: jwts.length,
        maxPathLength,
      },
    );
  }
  if (jwts.length === 2)
    throw chainInvalid('shape', 'a chain of two statements lacks the subordinate statement linking them');

  const last = jwts.length - 1;
  const verified: VerifiedEntityStatement[] = new Array(jwts.length);
  verified[last] = await verifyAnchor(jwts[last]!, last, options);

  const common = {
    now: options.now,
    leewaySeconds: options.leewaySeconds,
    allowLoopbackHttp: options.allowLoopbackHttp,
  };
  for (let j = last - 1; j >= 0; j--) {
    const above = verified[j + 1]!.claims;
    const isLeaf = j === 0;
    const statement = await atIndex(j, () =>
      verifyEntityStatement(jwts[j], {
        ...common,
        keys: above.jwks,
        ...(isLeaf ? { fetchedFor: options.subjectEntityId } : {}),
      }),
    );
    if (statement.claims.iss !== above.sub) {
      throw chainInvalid(
        'linkage',
        `statement ${j} is issued by ${statement.claims.iss}, but statement ${j + 1} is about ${above.sub}`,
        {
          chainIndex: j,
        },
      );
    }
    if (isLeaf !== statement.entityConfiguration) {
      throw chainInvalid(
        'statement-kind',
        isLeaf
          ? 'the first statement must be an entity configuration'
          : `statement ${j} must be a subordinate statement`,
        { chainIndex: j },
      );
    }
    verified[j] = statement;
  }

  const statements = verified.map((v) => v.claims);
  const leaf = statements[0]!;
  if (jwts.length === 1 && !options.trustAnchors.some((a) => a.entityId === options.subjectEntityId)) {
    throw chainInvalid('shape', 'a chain of one statement is valid only for a trust anchor itself');
  }
  if (jwts.length === 1 && leaf.sub !== options.subjectEntityId) {
    throw fail('STATEMENT_SUBJECT_MISMATCH', 'sub', `the chain is for ${leaf.sub}, not ${options.subjectEntityId}`);
  }
  // The entities of the chain: the subject of each subordinate statement, then the anchor.
  const entities = statements.slice(1).map((s) => s.sub);
  if (new Set(entities).size !== entities.length) throw chainInvalid('loop', 'an entity appears twice in the chain');

  const hints = leaf.authority_hints ?? [];
  if (hints.length > maxAuthorityHints) {
    throw fail(
      'TRUST_CHAIN_TOO_LONG',
      'authority-hints',
      `the subject lists ${hints.length} authority hints, at most ${maxAuthorityHints} are allowed`,
      {
        authorityHints: hints.length,
        maxAuthorityHints,
      },
    );
  }
  if (jwts.length > 1 && !hints.includes(statements[1]!.iss)) {
    throw chainInvalid(
      'authority-hints',
      `the subject does not list its superior ${statements[1]!.iss} in authority_hints`,
      { chainIndex: 0 },
    );
  }

  const merged = resolveMetadata(leaf, jwts.length > 1 ? statements[1] : undefined);
  const removedEntityTypes = applyConstraints(statements, merged);
  const { [CITYMESH_NODE_ENTITY_TYPE]: node, ...others } = merged;
  if (node !== undefined && jwts.length > 1) assertIdentityVouched(statements[1]!);
  const metadata: ResolvedEntityMetadata =
    node === undefined
      ? others
      : {
          ...others,
          citymesh_node: parseClaims<CitymeshNodeMetadata>(citymeshNodeSchema, node, 'metadata.citymesh_node'),
        };

  if (options.clusterMetadata !== undefined) {
    const cluster = options.clusterMetadata;
    verified.forEach((statement, index) => {
      try {
        assertNotRevoked(cluster, { kid: statement.kid });
      } catch (err) {
        if (err instanceof MeshError) throw within(err, `trust chain statement ${index}`, { chainIndex: index });
        throw err;
      }
    });
    const city = metadata.citymesh_node;
    if (city !== undefined) {
      if (city.cluster !== cluster.cluster) {
        throw fail(
          'NOT_A_MEMBER',
          'other-cluster',
          `${leaf.sub} is in cluster ${city.cluster}, not ${cluster.cluster}`,
          { cluster: city.cluster },
        );
      }
      assertNotRevoked(cluster, { city: city.city });
      const member = findMember(cluster, city.city);
      if (member.entity_id !== leaf.sub) {
        throw fail(
          'NOT_A_MEMBER',
          'entity-id',
          `${city.city} is ${member.entity_id} in the cluster metadata, not ${leaf.sub}`,
          { city: city.city },
        );
      }
    }
  }

  return {
    leaf,
    anchorEntityId: statements[last]!.iss,
    exp: Math.min(...statements.map((s) => s.exp)),
    metadata,
    removedEntityTypes,
    statements,
  };
}
