import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { AccessTokenVerifier, type AccessTokenVerifierOptions } from '../../../nodes/oidc/access-token-verifier.js';
import type { ClusterMetadataClaims, JwkSet, Revocation } from '../../../trust-anchor/index.js';
import { forge, metadata, providerSigningKey, publishedJwks, revoked } from './access-token-support.js';
import { RESOURCE, startCity, type TestCity } from './harness.js';

/**
 * Peer access tokens (identity.md §8.2) as the gRPC layer of the issuing city verifies
 * them: signed by this city's provider, for an app of another, unrevoked member city.
 */

const VISITOR = 'spiffe://tianjin.jjj.citymesh/app/porter';
let beijing: TestCity;
let jwks: JwkSet;
let signer: Awaited<ReturnType<typeof providerSigningKey>>;

beforeAll(async () => {
  beijing = await startCity({ [RESOURCE]: { scope: 'exchange' } });
  jwks = await publishedJwks(beijing);
  signer = await providerSigningKey(beijing);
});

afterAll(() => beijing?.close());

/** Metadata listing beijing and tianjin as members. */
function members(version = 3, revocations: Revocation[] = []): ClusterMetadataClaims {
  return {
    ...metadata(version, revocations),
    members: [{ city: 'beijing' }, { city: 'tianjin' }] as unknown as ClusterMetadataClaims['members'],
  };
}

function verifier(overrides: Partial<AccessTokenVerifierOptions> = {}): AccessTokenVerifier {
  return new AccessTokenVerifier({
    issuer: beijing.issuer,
    city: 'beijing',
    audience: RESOURCE,
    keys: () => jwks,
    metadata: () => members(),
    ...overrides,
  });
}

/** A peer token as Beijing's JWT-bearer grant issues it, changed by `changes`. */
function peerToken(changes: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return forge(
    { alg: 'ES256', typ: 'at+jwt', kid: signer.kid },
    {
      iss: beijing.issuer,
      aud: RESOURCE,
      sub: VISITOR,
      client_id: VISITOR,
      jti: randomUUID(),
      iat: now,
      exp: now + 60,
      scope: 'exchange',
      city: 'tianjin',
      industry: 'health',
      level: 'city',
      act: { sub: VISITOR, act: { sub: 'spiffe://tianjin.jjj.citymesh/node/n1' } },
      exchange: {
        resource: 'jjj/beijing/health-commission/clinics',
        action: 'read',
        purpose: 'epidemic-response',
        grant_iss: 'spiffe://tianjin.jjj.citymesh/node/n1',
        grant_jti: randomUUID(),
      },
      cnf: { jkt: 'A'.repeat(43) },
      ...changes,
    },
    signer.key,
  );
}

function refusal(run: () => unknown): { code: string; rule: unknown } {
  try {
    run();
  } catch (err) {
    if (err instanceof MeshError) return { code: err.code, rule: err.details.rule };
    throw err;
  }
  throw new Error('the token was accepted');
}

describe('peer access tokens at the gRPC layer', () => {
  it('are accepted by verifyAny with the home city, the exchange and the binding', () => {
    const verified = verifier().verifyAny(peerToken());
    expect(verified.peer).toBe(true);
    expect(verified.claims).toMatchObject({
      city: 'tianjin',
      client_id: VISITOR,
      exchange: { resource: 'jjj/beijing/health-commission/clinics', action: 'read', purpose: 'epidemic-response' },
      cnf: { jkt: 'A'.repeat(43) },
    });
    expect(Object.isFrozen((verified.claims as { exchange: object }).exchange)).toBe(true);
  });

  it('never pass as a token of this city (verify, which token exchange uses)', () => {
    expect(refusal(() => verifier().verify(peerToken()))).toEqual({ code: 'TOKEN_TYPE_MISMATCH', rule: 'peer-token' });
  });

  it('are refused for this city, a city that is not a member, or without metadata to check', () => {
    const peerCity = { code: 'TOKEN_ISSUER_MISMATCH', rule: 'peer-city' };
    const own = peerToken({ city: 'beijing', client_id: 'spiffe://beijing.jjj.citymesh/app/porter' });
    expect(refusal(() => verifier().verifyAny(own))).toEqual(peerCity);
    const stranger = peerToken({ city: 'shanghai', client_id: 'spiffe://shanghai.jjj.citymesh/app/porter' });
    expect(refusal(() => verifier().verifyAny(stranger))).toEqual(peerCity);
    expect(refusal(() => new AccessTokenVerifier({ ...baseOptions() }).verifyAny(peerToken()))).toEqual(peerCity);
  });

  it('are refused once the home city is revoked, even when cached', () => {
    let current = members(3);
    const v = verifier({ metadata: () => current });
    const token = peerToken();
    expect(v.verifyAny(token).peer).toBe(true);
    current = members(4, [revoked('city', 'tianjin', 4)]);
    expect(refusal(() => v.verifyAny(token))).toEqual({ code: 'CITY_REVOKED', rule: 'city-revoked' });
  });

  it('are refused with a wrong shape: client of another city, no binding, an unknown action, no exchange purpose', () => {
    const claims = { code: 'TOKEN_MALFORMED', rule: 'claims' };
    const cases = [
      { client_id: 'spiffe://beijing.jjj.citymesh/app/porter' },
      { client_id: 'spiffe://tianjin.jjj.citymesh/node/n1' },
      { cnf: undefined },
      { act: undefined },
      { exchange: { resource: 'jjj/beijing/health-commission/clinics', action: 'delete', purpose: 'x' } },
      {
        exchange: {
          resource: 'jjj/beijing/health-commission/clinics',
          action: 'read',
          grant_iss: 'spiffe://tianjin.jjj.citymesh/node/n1',
          grant_jti: 'j',
        },
      },
    ];
    for (const change of cases)
      expect(
        refusal(() => verifier().verifyAny(peerToken(change))),
        JSON.stringify(change),
      ).toEqual(claims);
  });
});

function baseOptions(): AccessTokenVerifierOptions {
  return { issuer: beijing.issuer, city: 'beijing', audience: RESOURCE, keys: () => jwks };
}
