import { randomUUID } from 'node:crypto';
import { parseResourceId, parseSpiffeId } from '../../common/ids/index.js';
import {
  assertNotRevoked,
  type ClusterMetadataClaims,
  type FederationSigningKey,
  fail,
  findNode,
  type Instant,
  signCompact,
  toSeconds,
  verifyJws,
} from '../../trust-anchor/index.js';
import {
  checkGrantShape,
  EXCHANGE_GRANT_TYP,
  type ExchangeGrantClaims,
  type ExchangeGrantSubject,
  MAX_GRANT_LIFETIME_SECONDS,
} from './grant-claims.js';
import { grantKeysOf } from './grant-keys.js';
import type { ReplayCache } from './replay-cache.js';

/** Clock skew tolerated on a grant's `iat` and `exp`: small, since the grant itself lives ≤ 60 s. */
export const DEFAULT_GRANT_LEEWAY_SECONDS = 10;
/** Largest leeway a verifier may configure. */
export const MAX_GRANT_LEEWAY_SECONDS = 30;
/** Largest grant accepted; checked before anything is decoded. A real grant is well under 2 KiB. */
export const MAX_GRANT_BYTES = 8 * 1024;
/** Lifetime of a grant unless the issuer asks for less. */
export const DEFAULT_GRANT_LIFETIME_SECONDS = 30;

/**
 * Signs exchange grants. Kept small so that issuers other than the node's federation key
 * (the OIDC provider's token exchange, issue 5) can implement it.
 */
export interface ExchangeGrantSigner {
  /** The grant's `iss`: the issuing home node's SPIFFE ID. */
  readonly issuer: string;
  /** Signs `claims` as a compact JWS with the protected header exactly `{ alg: 'ES256', kid, typ }`. */
  signJwt(claims: ExchangeGrantClaims, typ: string): Promise<string>;
}

/** A signer on the node's active federation key (its public JWK is in the metadata's `federation_jwks`). */
export function federationKeySigner(issuer: string, key: FederationSigningKey): ExchangeGrantSigner {
  if (key.alg !== 'ES256') throw new TypeError('exchange grants are signed with ES256 only');
  return {
    issuer,
    // The JWT jose's SignJWT makes (header, then the claims as JSON), signed by node:crypto.
    signJwt: async (claims, typ) => signCompact(key, { alg: 'ES256', kid: key.kid, typ }, JSON.stringify(claims)),
  };
}

/** What a home node asks a grant for; `iss`, `iat`, `exp` and (by default) `jti` are set on issue. */
export type ExchangeGrantRequest = ExchangeGrantSubject & {
  readonly jti?: string;
  /** 1 to {@link MAX_GRANT_LIFETIME_SECONDS}; {@link DEFAULT_GRANT_LIFETIME_SECONDS} by default. */
  readonly lifetimeSeconds?: number;
};

/**
 * Issues an exchange grant: checks the claims against the schema the verifier uses, then
 * signs them. The subject's `city` must be the issuer's: a node vouches only for its own.
 *
 * @throws MeshError `MALFORMED_REQUEST` when the claims break the schema or the lifetime is out of range
 */
export async function issueExchangeGrant(
  signer: ExchangeGrantSigner,
  request: ExchangeGrantRequest,
  now: Instant,
): Promise<{ token: string; claims: ExchangeGrantClaims }> {
  const { lifetimeSeconds = DEFAULT_GRANT_LIFETIME_SECONDS, jti = randomUUID(), ...rest } = request;
  if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1 || lifetimeSeconds > MAX_GRANT_LIFETIME_SECONDS) {
    throw fail(
      'MALFORMED_REQUEST',
      'lifetime',
      `lifetimeSeconds must be an integer from 1 to ${MAX_GRANT_LIFETIME_SECONDS}`,
      { field: 'lifetimeSeconds' },
    );
  }
  const iat = Math.floor(toSeconds(now));
  const claims: ExchangeGrantClaims = { ...rest, iss: signer.issuer, iat, exp: iat + lifetimeSeconds, jti };
  checkGrantShape(claims, 'MALFORMED_REQUEST');
  if (parseSpiffeId(claims.iss).city !== claims.city) {
    throw fail('MALFORMED_REQUEST', 'city', `a node of another city cannot vouch for a subject of ${claims.city}`, {
      claim: 'city',
    });
  }
  return { token: await signer.signJwt(claims, EXCHANGE_GRANT_TYP), claims };
}

/** Options of {@link verifyExchangeGrant}. */
export interface VerifyExchangeGrantOptions {
  /** The verifying node's current, verified cluster metadata. */
  readonly metadata: ClusterMetadataClaims;
  /** This node's SPIFFE ID: the only audience accepted. */
  readonly audience: string;
  /** The city of the mTLS peer that presented the grant (`authenticatePeer(...).city`). */
  readonly presenterCity: string;
  readonly now: Instant;
  readonly replay: ReplayCache;
  /** Default {@link DEFAULT_GRANT_LEEWAY_SECONDS}, at most {@link MAX_GRANT_LEEWAY_SECONDS}. */
  readonly leewaySeconds?: number;
}

/** A grant that passed every check. */
export interface VerifiedExchangeGrant {
  readonly claims: ExchangeGrantClaims;
  /** The federation key that signed it. */
  readonly kid: string;
  /** The issuing city (= the presenter's). */
  readonly issuerCity: string;
}

/**
 * Verifies an exchange grant presented by a peer node. In order, the first failure ending it:
 *
 * 1. the JWS checks shared by every citymesh token (`verifyJws`), with `typ`
 *    {@link EXCHANGE_GRANT_TYP}, ES256 only, at most {@link MAX_GRANT_BYTES}, keys from the
 *    members' `federation_jwks` only: size, shape, alg, `jku`/`jwk`/`x5u`/`x5c`, `typ`,
 *    `crit`, `kid`, signature, `iat`/`exp`;
 * 2. the signing key belongs to the presenter's city — `TOKEN_ISSUER_MISMATCH` (`presenter-city`);
 * 3. that city and key are not revoked — `CITY_REVOKED`, `KEY_REVOKED`;
 * 4. exactly one audience — `TOKEN_AUDIENCE_MISMATCH` (`single-audience`);
 * 5. the claims' shapes — `TOKEN_MALFORMED` (`claims`);
 * 6. `exp - iat` ≤ 60 s — `TOKEN_LIFETIME_EXCEEDED` (`grant-lifetime`);
 * 7. `iss` is a listed, unrevoked node of the signing city and `city` is that city —
 *    `TOKEN_ISSUER_MISMATCH` (`iss`, `city`), `NOT_A_MEMBER`, `NODE_REVOKED`;
 * 8. `aud` is this node and `resource` belongs to its cluster and city — `TOKEN_AUDIENCE_MISMATCH`
 *    (`aud`, `resource-city`);
 * 9. `jti` not seen before from this issuer — `TOKEN_REPLAYED` (`jti`); recorded until the
 *    grant can no longer pass step 1.
 *
 * @throws MeshError with the codes above
 */
export async function verifyExchangeGrant(
  jws: unknown,
  options: VerifyExchangeGrantOptions,
): Promise<VerifiedExchangeGrant> {
  const { metadata, audience, presenterCity, replay } = options;
  const leeway = options.leewaySeconds ?? DEFAULT_GRANT_LEEWAY_SECONDS;
  if (!Number.isFinite(leeway) || leeway < 0 || leeway > MAX_GRANT_LEEWAY_SECONDS) {
    throw new TypeError(`leewaySeconds must be between 0 and ${MAX_GRANT_LEEWAY_SECONDS}`);
  }
  const now = toSeconds(options.now);
  const grantKeys = grantKeysOf(metadata);
  const { header, payload } = await verifyJws(jws, {
    expectedTyp: EXCHANGE_GRANT_TYP,
    keys: grantKeys.keys,
    now,
    algorithms: ['ES256'],
    leewaySeconds: leeway,
    maxBytes: MAX_GRANT_BYTES,
  });

  const keyCity = grantKeys.cityOf.get(header.kid)!;
  if (keyCity !== presenterCity) {
    throw fail(
      'TOKEN_ISSUER_MISMATCH',
      'presenter-city',
      `the grant is signed by a key of ${keyCity} but was presented by a node of ${presenterCity}`,
      { kid: header.kid, keyCity, presenterCity },
    );
  }
  assertNotRevoked(metadata, { city: keyCity, kid: header.kid });

  if (Array.isArray(payload.aud)) {
    throw fail('TOKEN_AUDIENCE_MISMATCH', 'single-audience', 'an exchange grant names exactly one audience', {
      claim: 'aud',
    });
  }
  checkGrantShape(payload, 'TOKEN_MALFORMED');
  const claims = payload as ExchangeGrantClaims;
  if (claims.exp - claims.iat > MAX_GRANT_LIFETIME_SECONDS) {
    throw fail(
      'TOKEN_LIFETIME_EXCEEDED',
      'grant-lifetime',
      `the grant lives ${claims.exp - claims.iat} s; at most ${MAX_GRANT_LIFETIME_SECONDS} s are allowed`,
      { claim: 'exp', lifetime: claims.exp - claims.iat },
    );
  }

  const iss = parseSpiffeId(claims.iss, 'iss');
  if (iss.city !== keyCity || iss.kind !== 'node') {
    throw fail('TOKEN_ISSUER_MISMATCH', 'iss', `iss ${iss.uri} is not a node of ${keyCity}, whose key signed it`, {
      claim: 'iss',
    });
  }
  findNode(metadata, iss.uri);
  assertNotRevoked(metadata, { nodeSpiffeId: iss.uri });
  if (claims.city !== keyCity) {
    throw fail('TOKEN_ISSUER_MISMATCH', 'city', `a node of ${keyCity} cannot vouch for a subject of ${claims.city}`, {
      claim: 'city',
    });
  }

  if (claims.aud !== audience) {
    throw fail('TOKEN_AUDIENCE_MISMATCH', 'aud', `the grant is for ${claims.aud}, not ${audience}`, {
      claim: 'aud',
      audience,
    });
  }
  const self = parseSpiffeId(audience, 'audience');
  const resource = parseResourceId(claims.resource, 'resource');
  if (resource.cluster !== self.cluster || resource.city !== self.city) {
    throw fail(
      'TOKEN_AUDIENCE_MISMATCH',
      'resource-city',
      `the grant is for ${resource.id}, which ${self.city} of ${self.cluster} does not own`,
      { claim: 'resource' },
    );
  }

  // verifyJws refuses the grant once now >= exp + leeway: from then on the entry is not needed.
  if (!(await replay.firstUse(`${claims.iss} ${claims.jti}`, claims.exp + leeway, now))) {
    throw fail('TOKEN_REPLAYED', 'jti', `grant ${claims.jti} from ${claims.iss} was already used`, {
      claim: 'jti',
    });
  }
  return { claims, kid: header.kid, issuerCity: keyCity };
}
