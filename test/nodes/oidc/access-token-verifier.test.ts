import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { decodeJwt, exportJWK, generateKeyPair } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../common/clock.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { federationKeySigner, issueExchangeGrant, MemoryReplayCache } from '../../../nodes/exchange/index.js';
import {
  AccessTokenVerifier,
  type AccessTokenVerifierOptions,
  MAX_ACCESS_TOKEN_BYTES,
} from '../../../nodes/oidc/access-token-verifier.js';
import { VerifiedTokenCache } from '../../../nodes/oidc/verified-token-cache.js';
import { type ClusterMetadataClaims, type JwkSet, signEntityStatement } from '../../../trust-anchor/index.js';
import { federationKey } from '../exchange/fixtures.js';
import {
  claimsLike,
  forge,
  hs256WithPublicKey,
  metadata,
  providerSigningKey,
  publishedJwks,
  realToken,
  revoked,
  unsecured,
} from './access-token-support.js';
import { discover, OTHER_RESOURCE, RESOURCE, registerApp, startCity, type TestCity } from './harness.js';

/**
 * The gRPC layer's access-token verifier against real tokens of a real provider, then the
 * RFC 8725 battery: every attack refused with its own code and rule.
 */

let beijing: TestCity;
let tianjin: TestCity;
let jwks: JwkSet;
let signer: Awaited<ReturnType<typeof providerSigningKey>>;
let token: string;
let clock: ManualClock;

beforeAll(async () => {
  [beijing, tianjin] = await Promise.all([
    startCity({ [RESOURCE]: { scope: 'datasets:read' }, [OTHER_RESOURCE]: { scope: 'devices:read' } }),
    startCity(),
  ]);
  jwks = await publishedJwks(beijing);
  signer = await providerSigningKey(beijing);
  token = await realToken(beijing, 'planner');
});

afterAll(async () => {
  await Promise.all([beijing.close(), tianjin.close()]);
});

function verifier(overrides: Partial<AccessTokenVerifierOptions> = {}): AccessTokenVerifier {
  clock = new ManualClock(Date.now());
  return new AccessTokenVerifier({
    issuer: beijing.issuer,
    city: 'beijing',
    audience: RESOURCE,
    keys: () => jwks,
    clock,
    ...overrides,
  });
}

const nowS = () => Math.floor(Date.now() / 1000);

/** The token signed by the provider's real key with these claims and header changes. */
const signed = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  forge({ alg: 'ES256', typ: 'at+jwt', kid: signer.kid, ...header }, claimsLike(token, nowS(), claims), signer.key);

function refusal(run: () => unknown): MeshError {
  try {
    run();
  } catch (err) {
    if (err instanceof MeshError) return err;
    throw err;
  }
  throw new Error('the token was accepted');
}

function expectRefused(run: () => unknown, code: string, rule: string): void {
  const err = refusal(run);
  expect({ code: err.code, rule: err.details.rule }).toEqual({ code, rule });
}

describe('real tokens of the city provider', () => {
  it('verifies a client_credentials token and returns its claims', () => {
    const claims = verifier().verify(token);
    expect(claims).toMatchObject({
      iss: beijing.issuer,
      aud: RESOURCE,
      sub: 'planner',
      client_id: 'planner',
      scope: 'datasets:read',
      city: 'beijing',
      org: 'planning-bureau',
      industry: 'transport',
      level: 'province',
      region: '110000',
      roles: ['planner'],
    });
    expect(Object.isFrozen(claims) && Object.isFrozen(claims.roles)).toBe(true);
  });

  it('returns cnf.jkt of a DPoP-bound token', async () => {
    const app = await registerApp(beijing, { clientId: 'dpop-app' });
    const config = await discover(beijing, 'dpop-app', app.privateKey, 'es256-1');
    const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    const tokens = await client.clientCredentialsGrant(config, { resource: RESOURCE }, { DPoP });
    expect(verifier().verify(tokens.access_token).cnf?.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('accepts typ application/at+jwt (RFC 9068 §4)', () => {
    expect(verifier().verify(signed({}, { typ: 'application/at+jwt' })).sub).toBe('planner');
  });
});

describe('RFC 8725 battery', () => {
  it.each(['none', 'None', 'NONE', 'nOnE', 'nonE'])('alg %s, unsigned or with the real signature', (alg) => {
    const v = verifier();
    const claims = claimsLike(token, nowS());
    expectRefused(() => v.verify(unsecured(alg, claims, signer.kid)), 'TOKEN_ALG_NOT_ALLOWED', 'alg-allowlist');
    const realSignature = token.split('.')[2]!;
    expectRefused(
      () => v.verify(unsecured(alg, decodeJwt(token), signer.kid, realSignature)),
      'TOKEN_ALG_NOT_ALLOWED',
      'alg-allowlist',
    );
  });

  it('HS256 keyed with the public key (PEM, DER, JWK bytes)', () => {
    const v = verifier();
    const pub = createPublicKey({ key: jwks.keys[0]!, format: 'jwk' });
    const secrets = [
      pub.export({ format: 'pem', type: 'spki' }),
      pub.export({ format: 'der', type: 'spki' }),
      JSON.stringify(jwks.keys[0]),
    ];
    for (const secret of secrets) {
      expectRefused(
        () => v.verify(hs256WithPublicKey(claimsLike(token, nowS()), signer.kid, secret)),
        'TOKEN_ALG_NOT_ALLOWED',
        'alg-allowlist',
      );
    }
  });

  it('other algorithms and casings: es256, ES384, EdDSA, RS256', () => {
    const v = verifier();
    for (const alg of ['es256', 'ES384', 'EdDSA', 'RS256']) {
      expectRefused(() => v.verify(signed({}, { alg })), 'TOKEN_ALG_NOT_ALLOWED', 'alg-allowlist');
    }
  });

  it('unknown kid, even signed by a well-formed P-256 key', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = forge(
      { alg: 'ES256', typ: 'at+jwt', kid: 'not-a-city-key' },
      claimsLike(token, nowS()),
      other.privateKey,
    );
    expectRefused(() => verifier().verify(forged), 'TOKEN_KEY_UNKNOWN', 'kid-unknown');
  });

  it.each(['jku', 'x5u', 'jwk', 'x5c'])('%s header injection', async (name) => {
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const values: Record<string, unknown> = {
      jku: 'https://attacker.example/jwks',
      x5u: 'https://attacker.example/cert.pem',
      jwk: await exportJWK(attacker.publicKey),
      x5c: ['MIIB'],
    };
    expectRefused(
      () => verifier().verify(signed({}, { [name]: values[name] })),
      'TOKEN_HEADER_INJECTION',
      'key-supplying-header',
    );
  });

  it('wrong iss, signed by the city key', () => {
    expectRefused(() => verifier().verify(signed({ iss: 'https://attacker.example' })), 'TOKEN_ISSUER_MISMATCH', 'iss');
  });

  it('a token of another city (a second provider, another issuer) replayed here, even for the same resource URL', async () => {
    const foreign = await realToken(tianjin, 'tianjin-app');
    expect(decodeJwt(foreign).aud).toBe(RESOURCE);
    expectRefused(() => verifier().verify(foreign), 'TOKEN_ISSUER_MISMATCH', 'foreign-issuer');
  });

  it('expired (clock advanced past exp + leeway)', () => {
    const v = verifier();
    clock.advanceSeconds(300 + 31);
    expectRefused(() => v.verify(token), 'TOKEN_EXPIRED', 'expired');
  });

  it('nbf and iat in the future', () => {
    expectRefused(() => verifier().verify(signed({ nbf: nowS() + 120 })), 'TOKEN_NOT_YET_VALID', 'nbf-future');
    expectRefused(
      () => verifier().verify(signed({ iat: nowS() + 120, exp: nowS() + 400 })),
      'TOKEN_NOT_YET_VALID',
      'iat-future',
    );
  });

  it('replayed jti where the caller asks for one-time use', async () => {
    const v = verifier();
    const replay = new MemoryReplayCache();
    await expect(v.verifyFirstUse(token, replay)).resolves.toMatchObject({ sub: 'planner' });
    const err = (await v.verifyFirstUse(token, replay).catch((e: unknown) => e)) as MeshError;
    expect({ code: err.code, rule: err.details.rule }).toEqual({ code: 'TOKEN_REPLAYED', rule: 'jti' });
    // Same jti in another (validly signed) token string: still the same token to the replay check.
    const again = signed({ jti: decodeJwt(token).jti });
    await expect(v.verifyFirstUse(again, replay)).rejects.toMatchObject({ code: 'TOKEN_REPLAYED' });
  });

  it('unknown crit, also naming a registered header', () => {
    const v = verifier();
    expectRefused(() => v.verify(signed({}, { crit: ['urn:x'], 'urn:x': 1 })), 'TOKEN_CRIT_UNSUPPORTED', 'crit');
    expectRefused(() => v.verify(signed({}, { crit: ['exp'] })), 'TOKEN_CRIT_UNSUPPORTED', 'crit');
    expectRefused(() => v.verify(signed({}, { crit: [] })), 'TOKEN_CRIT_UNSUPPORTED', 'crit');
  });

  it('typ confusion: an exchange grant, an entity statement, an ID-token-like JWT', async () => {
    const v = verifier();
    const fed = await federationKey();
    const { token: grant } = await issueExchangeGrant(
      federationKeySigner('spiffe://beijing.jjj.citymesh/node/node-1', fed.signing),
      {
        sub: 'u-1',
        act: { sub: 'spiffe://beijing.jjj.citymesh/app/portal' },
        city: 'beijing',
        industry: 'health',
        level: 'district',
        purpose: 'treatment',
        aud: 'spiffe://tianjin.jjj.citymesh/node/node-1',
        resource: 'jjj/tianjin/health/clinics',
        action: 'read',
      },
      new Date(),
    );
    expectRefused(() => v.verify(grant), 'TOKEN_TYPE_MISMATCH', 'typ');
    const statement = await signEntityStatement(
      { iss: beijing.issuer, sub: beijing.issuer, iat: nowS(), exp: nowS() + 300, jwks: { keys: [fed.jwk] } },
      fed.signing,
    );
    expectRefused(() => v.verify(statement), 'TOKEN_TYPE_MISMATCH', 'typ');
    // Signed by the very key that signs access tokens (as ID tokens are): typ still decides.
    for (const typ of ['JWT', 'citymesh-exchange-grant+jwt', 'at+JWT', undefined]) {
      expectRefused(() => v.verify(signed({}, { typ })), 'TOKEN_TYPE_MISMATCH', 'typ');
    }
  });

  it('oversized, before anything is decoded', () => {
    const v = verifier();
    expectRefused(
      () => v.verify(signed({ padding: 'x'.repeat(MAX_ACCESS_TOKEN_BYTES) })),
      'TOKEN_TOO_LARGE',
      'max-size',
    );
    expectRefused(() => v.verify('a'.repeat(10 * 1024 * 1024)), 'TOKEN_TOO_LARGE', 'max-size');
  });

  it('a token from a revoked city (and one signed by a revoked kid)', () => {
    expectRefused(
      () => verifier({ metadata: () => metadata(7, [revoked('city', 'beijing', 7)]) }).verify(token),
      'CITY_REVOKED',
      'city-revoked',
    );
    expectRefused(
      () => verifier({ metadata: () => metadata(7, [revoked('key', signer.kid, 7)]) }).verify(token),
      'KEY_REVOKED',
      'key-revoked',
    );
    expect(verifier({ metadata: () => metadata(7, [revoked('city', 'tianjin', 7)]) }).verify(token).sub).toBe(
      'planner',
    );
  });

  it('audience: another resource of the city, an array', async () => {
    const other = await realToken(beijing, 'devices-app', OTHER_RESOURCE);
    expectRefused(() => verifier().verify(other), 'TOKEN_AUDIENCE_MISMATCH', 'aud');
    expectRefused(() => verifier().verify(signed({ aud: [RESOURCE] })), 'TOKEN_AUDIENCE_MISMATCH', 'single-audience');
  });

  it('the rest: bad signature, extra header member, lifetime, claims, city, shape', () => {
    const v = verifier();
    const [h, p, s] = token.split('.') as [string, string, string];
    const flipped = Buffer.from(s, 'base64url');
    flipped[10]! ^= 1;
    expectRefused(() => v.verify(`${h}.${p}.${flipped.toString('base64url')}`), 'TOKEN_SIGNATURE_INVALID', 'signature');
    expectRefused(() => v.verify(`${h}.${p}.${s.slice(0, -2)}`), 'TOKEN_SIGNATURE_INVALID', 'signature');
    expectRefused(() => v.verify(signed({}, { cty: 'JWT' })), 'TOKEN_MALFORMED', 'header-members');
    expectRefused(() => v.verify(signed({ exp: nowS() + 3600 })), 'TOKEN_LIFETIME_EXCEEDED', 'access-token-lifetime');
    expectRefused(() => v.verify(signed({ roles: 'admin' })), 'TOKEN_MALFORMED', 'claims');
    expectRefused(() => v.verify(signed({ jti: undefined })), 'TOKEN_MALFORMED', 'claims');
    expectRefused(() => v.verify(signed({ exp: undefined })), 'TOKEN_MALFORMED', 'exp-required');
    expectRefused(() => v.verify(signed({ city: 'tianjin' })), 'TOKEN_ISSUER_MISMATCH', 'city');
    expectRefused(() => v.verify(`${h}.${p}`), 'TOKEN_MALFORMED', 'compact-shape');
    expectRefused(() => v.verify(`${h}=.${p}.${s}`), 'TOKEN_MALFORMED', 'compact-shape');
    expectRefused(() => v.verify(42), 'TOKEN_MALFORMED', 'type');
    const notUtf8 = Buffer.from([0x7b, 0x22, 0x61, 0xff, 0x22, 0x7d]).toString('base64url');
    expectRefused(() => v.verify(`${notUtf8}.${p}.${s}`), 'TOKEN_MALFORMED', 'header-json');
  });

  it('odd keys in the set fail only the tokens naming them: duplicate kid, use enc, wrong curve', () => {
    const real = jwks.keys[0]!;
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    const cases: [JwkSet, string, string][] = [
      [{ keys: [real, { ...real }] }, 'TOKEN_KEY_UNKNOWN', 'kid-ambiguous'],
      [{ keys: [{ ...real, use: 'enc' }] }, 'TOKEN_KEY_UNKNOWN', 'key-use'],
      [{ keys: [{ ...p384, kid: signer.kid }] }, 'TOKEN_ALG_NOT_ALLOWED', 'key-alg-mismatch'],
    ];
    for (const [keys, code, rule] of cases) {
      expectRefused(() => verifier({ keys: () => keys }).verify(token), code, rule);
    }
    const other = { ...real, kid: 'other', use: 'enc' };
    expect(verifier({ keys: () => ({ keys: [other, real] }) }).verify(token).sub).toBe('planner');
  });

  it('property: any single-byte change of a valid token is refused', () => {
    const v = verifier();
    expect(v.verify(token).sub).toBe('planner');
    fc.assert(
      fc.property(fc.nat(token.length - 1), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const replacement = String.fromCharCode(byte);
        fc.pre(replacement !== token[at]);
        const changed = token.slice(0, at) + replacement + token.slice(at + 1);
        expect(refusal(() => v.verify(changed))).toBeInstanceOf(MeshError);
      }),
      { numRuns: 2000 },
    );
  });
  it('exhaustively: every byte value at every position of the signature segment and the dots is refused', () => {
    // Where a change could leave the decoded bytes equal (spare trailing bits, the `+`/`/`
    // spellings Node's decoder also takes), so the signature would still verify; the
    // random property above is unlikely to hit these few cases.
    const v = verifier({ cacheEntries: 0 });
    const signatureStart = token.lastIndexOf('.') + 1;
    const positions = [token.indexOf('.'), signatureStart - 1];
    for (let at = signatureStart; at < token.length; at++) positions.push(at);
    let refused = 0;
    for (const at of positions) {
      for (let byte = 0; byte < 256; byte++) {
        const replacement = String.fromCharCode(byte);
        if (replacement === token[at]) continue;
        refusal(() => v.verify(token.slice(0, at) + replacement + token.slice(at + 1)));
        refused++;
      }
    }
    expect(refused).toBe(positions.length * 255);
  });
});

describe('verified-token cache', () => {
  it('answers a repeated token from the cache, far faster than verifying it', () => {
    const v = verifier();
    const time = (run: () => void) => {
      const start = performance.now();
      for (let i = 0; i < 300; i++) run();
      return performance.now() - start;
    };
    v.verify(token);
    const uncached = time(() => {
      v.clearCache();
      v.verify(token);
    });
    const cached = time(() => v.verify(token));
    expect(v.cachedTokens).toBe(1);
    expect(cached * 10).toBeLessThan(uncached);
  });

  it('refuses a cached token once it has expired, and drops it', () => {
    const v = verifier();
    v.verify(token);
    clock.advanceSeconds(300 + 31);
    expectRefused(() => v.verify(token), 'TOKEN_EXPIRED', 'expired');
    expect(v.cachedTokens).toBe(0);
  });

  it('a key-set change evicts; the same keys in a new object do not', async () => {
    let current: JwkSet = jwks;
    const v = verifier({ keys: () => current });
    v.verify(token);
    current = structuredClone(jwks);
    v.verify(token);
    expect(v.cachedTokens).toBe(1);
    const rotated = await exportJWK((await generateKeyPair('ES256')).publicKey);
    current = { keys: [{ ...rotated, kid: 'rotated', alg: 'ES256', use: 'sig' }] };
    expectRefused(() => v.verify(token), 'TOKEN_KEY_UNKNOWN', 'kid-unknown');
    expect(v.cachedTokens).toBe(0);
  });

  it('a new metadata version evicts, so a revocation reaches cached tokens at once', () => {
    let current: ClusterMetadataClaims = metadata(1);
    const v = verifier({ metadata: () => current });
    v.verify(token);
    current = metadata(2, [revoked('city', 'beijing', 2)]);
    expectRefused(() => v.verify(token), 'CITY_REVOKED', 'city-revoked');
    expect(v.cachedTokens).toBe(0);
  });

  it('stays within its bound', () => {
    const v = verifier({ cacheEntries: 3 });
    for (let i = 0; i < 8; i++) v.verify(signed({ jti: randomUUID() }));
    expect(v.cachedTokens).toBe(3);
  });

  it('CLOCK eviction: a token used since the last sweep survives it, expired ones go first', () => {
    const cache = new VerifiedTokenCache<number>(2);
    cache.set('a', 1, 100, 0);
    cache.set('b', 2, 100, 0);
    cache.get('a');
    cache.set('c', 3, 100, 0);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([1, undefined, 3]);
    cache.set('d', 4, 100, 200);
    expect(cache.size).toBe(2);
    expect(cache.get('d')).toBe(4);
  });
});
