import { parseEntityId } from './entity-id.js';
import { fail } from './failure.js';
import type { Instant } from './instant.js';
import { sameKeyMaterial } from './jwks.js';
import { entityStatementSchema, jwkSetSchema, parseClaims } from './schemas.js';
import { ENTITY_STATEMENT_TYP, type EntityStatementClaims, type FederationAlgorithm, type JwkSet } from './types.js';
import { decodeUnverified, verifyJws } from './verify-jws.js';

/**
 * Claims defined by OpenID Federation 1.0 and RFC 7519, which `crit` must not list: only
 * extension claims can be critical (OpenID Federation 1.0 §3.1, `crit`).
 */
const STANDARD_CLAIMS = new Set([
  'iss',
  'sub',
  'aud',
  'iat',
  'exp',
  'nbf',
  'jti',
  'jwks',
  'authority_hints',
  'metadata',
  'metadata_policy',
  'metadata_policy_crit',
  'constraints',
  'crit',
  'trust_marks',
  'trust_mark_issuers',
  'trust_mark_owners',
  'source_endpoint',
  'trust_anchor',
  'trust_chain',
]);

/** Options of {@link verifyEntityStatement}. */
export interface VerifyEntityStatementOptions {
  /**
   * The issuer's keys. Required for a subordinate statement (the superior's keys). For an
   * entity configuration it may be left out: it is then verified with the keys it carries
   * (self-signed only, which proves nothing about trust: use a trust chain for that).
   */
  keys?: JwkSet;
  now: Instant;
  /** The issuer expected (`TOKEN_ISSUER_MISMATCH`). */
  expectedIss?: string;
  /** The subject expected (`STATEMENT_SUBJECT_MISMATCH`). */
  expectedSub?: string;
  /**
   * The entity id whose statement was fetched: the entity of a `/.well-known/openid-federation`
   * URL, or the `sub` parameter of a fetch endpoint request. `sub` must equal it
   * (`STATEMENT_SUBJECT_MISMATCH`).
   */
  fetchedFor?: string;
  leewaySeconds?: number;
  /** Extension claims this caller understands and processes, which `crit` may list. None by default. */
  understoodClaims?: readonly string[];
  /** Accept `http` entity ids on loopback hosts (development only). */
  allowLoopbackHttp?: boolean;
}

/** A verified entity statement. */
export interface VerifiedEntityStatement {
  claims: EntityStatementClaims;
  /** The `kid` that signed it. */
  kid: string;
  alg: FederationAlgorithm;
  /** True for an entity configuration (`iss == sub`). */
  entityConfiguration: boolean;
}

function checkOptions(options: VerifyEntityStatementOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  for (const name of ['expectedIss', 'expectedSub', 'fetchedFor'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'string')
      throw new TypeError(`${name} must be a string`);
  }
  if (
    options.understoodClaims !== undefined &&
    !options.understoodClaims.every((c) => typeof c === 'string' && !STANDARD_CLAIMS.has(c))
  ) {
    throw new TypeError('understoodClaims must list extension claim names only');
  }
}

/**
 * Verifies one entity statement (OpenID Federation 1.0 §3): the strict JWS checks of
 * {@link verifyJws} with `typ: entity-statement+jwt`, the claim shapes, then:
 * - an entity configuration (`iss == sub`) must be self-signed: the key that verified it
 *   must also be in its own `jwks` (same `kid`, same key material);
 * - `sub` must equal `fetchedFor`/`expectedSub` (`STATEMENT_SUBJECT_MISMATCH`), `iss` must
 *   equal `expectedIss` (`TOKEN_ISSUER_MISMATCH`);
 * - `crit` may list only extension claims the caller understands, each present
 *   (`TOKEN_CRIT_UNSUPPORTED`);
 * - `metadata_policy` / `metadata_policy_crit` are refused (`TOKEN_CRIT_UNSUPPORTED`):
 *   citymesh does not apply metadata policies, and ignoring one would resolve metadata
 *   its issuer meant to restrict;
 * - `constraints` only in subordinate statements, `authority_hints` only in entity
 *   configurations (`TOKEN_MALFORMED`).
 *
 * @throws MeshError with the codes of {@link verifyJws} and those above
 */
export async function verifyEntityStatement(
  jwt: unknown,
  options: VerifyEntityStatementOptions,
): Promise<VerifiedEntityStatement> {
  checkOptions(options);
  const jwsOptions = { expectedTyp: ENTITY_STATEMENT_TYP, now: options.now, leewaySeconds: options.leewaySeconds };
  let keys = options.keys;
  if (keys === undefined) {
    // Self-signed: the keys come from the statement itself, read before verifying it.
    const { payload } = decodeUnverified(jwt, jwsOptions);
    if (payload.iss !== payload.sub) {
      throw fail(
        'TOKEN_KEY_UNKNOWN',
        'issuer-keys-required',
        "a subordinate statement can only be verified with its issuer's keys",
      );
    }
    keys = parseClaims<JwkSet>(jwkSetSchema, payload.jwks, 'entity configuration jwks');
  }
  const verified = await verifyJws(jwt, { ...jwsOptions, keys });
  const claims = parseClaims<EntityStatementClaims>(entityStatementSchema, verified.payload, 'entity statement');
  const entityConfiguration = claims.iss === claims.sub;
  const kid = verified.header.kid;

  if (entityConfiguration && options.keys !== undefined) {
    const own = claims.jwks.keys.find((key) => key.kid === kid);
    if (own === undefined || !sameKeyMaterial(own, verified.key)) {
      throw fail(
        'TOKEN_KEY_UNKNOWN',
        'not-self-signed',
        `entity configuration of ${claims.sub} is not signed by a key in its own jwks`,
        { kid },
      );
    }
  }

  const allowHttp = options.allowLoopbackHttp ?? false;
  parseEntityId(claims.iss, 'iss', allowHttp);
  parseEntityId(claims.sub, 'sub', allowHttp);
  for (const [i, hint] of (claims.authority_hints ?? []).entries())
    parseEntityId(hint, `authority_hints.${i}`, allowHttp);

  for (const expected of [options.fetchedFor, options.expectedSub]) {
    if (expected !== undefined && claims.sub !== expected) {
      throw fail(
        'STATEMENT_SUBJECT_MISMATCH',
        'sub',
        `statement is about ${claims.sub}, not ${expected} it was fetched for`,
        {
          sub: claims.sub,
          expected,
        },
      );
    }
  }
  if (options.expectedIss !== undefined && claims.iss !== options.expectedIss) {
    throw fail('TOKEN_ISSUER_MISMATCH', 'iss', `statement is issued by ${claims.iss}, not ${options.expectedIss}`, {
      iss: claims.iss,
      expected: options.expectedIss,
    });
  }

  if (claims.crit !== undefined) {
    const understood = new Set(options.understoodClaims ?? []);
    if (new Set(claims.crit).size !== claims.crit.length)
      throw fail('TOKEN_CRIT_UNSUPPORTED', 'crit-claim', 'crit lists a claim twice');
    for (const name of claims.crit) {
      if (STANDARD_CLAIMS.has(name))
        throw fail('TOKEN_CRIT_UNSUPPORTED', 'crit-claim', `crit must not list the standard claim "${name}"`, {
          crit: name,
        });
      if (!understood.has(name))
        throw fail(
          'TOKEN_CRIT_UNSUPPORTED',
          'crit-claim',
          `crit lists "${name}", which this verifier does not understand`,
          { crit: name },
        );
      if (!Object.hasOwn(claims, name))
        throw fail('TOKEN_CRIT_UNSUPPORTED', 'crit-claim', `crit lists "${name}", which the statement does not carry`, {
          crit: name,
        });
    }
  }
  for (const name of ['metadata_policy', 'metadata_policy_crit'] as const) {
    if (claims[name] !== undefined) {
      throw fail(
        'TOKEN_CRIT_UNSUPPORTED',
        'metadata-policy-unsupported',
        `${name} is not supported by this verifier, so the statement is refused rather than its policy ignored`,
        {
          claim: name,
        },
      );
    }
  }
  if (entityConfiguration && claims.constraints !== undefined) {
    throw fail(
      'TOKEN_MALFORMED',
      'constraints-in-entity-configuration',
      'constraints belong in subordinate statements only',
      { claim: 'constraints' },
    );
  }
  if (!entityConfiguration && claims.authority_hints !== undefined) {
    throw fail(
      'TOKEN_MALFORMED',
      'authority-hints-in-subordinate-statement',
      'authority_hints belong in entity configurations only',
      { claim: 'authority_hints' },
    );
  }
  return { claims, kid, alg: verified.header.alg, entityConfiguration };
}
