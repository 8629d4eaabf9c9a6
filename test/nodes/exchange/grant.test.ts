import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../common/errors/registry.js';
import {
  EXCHANGE_GRANT_TYP,
  federationKeySigner,
  issueExchangeGrant,
  MAX_GRANT_BYTES,
  MemoryReplayCache,
  verifyExchangeGrant,
} from '../../../nodes/exchange/index.js';
import { meshErrorOf } from '../../support/anchor-harness.js';
import {
  BEIJING_NODE,
  buildExchangePki,
  type ExchangePki,
  metadataOf,
  NOW_S,
  signRaw,
  TIANJIN_NODE,
  unsigned,
} from './fixtures.js';
import { beijingSigner, claimsAt, REQUEST, verifyOptions } from './grant-support.js';

let pki: ExchangePki;
beforeAll(async () => {
  pki = await buildExchangePki();
});

const header = (extra: Record<string, unknown> = {}) => ({
  alg: 'ES256',
  kid: pki.beijingKey.signing.kid,
  typ: EXCHANGE_GRANT_TYP,
  ...extra,
});

/** A token signed by Beijing's real key with whatever header and claims the attacker chose. */
const beijingSigned = (h: Record<string, unknown>, claims = claimsAt(), crit: Record<string, boolean> = {}) =>
  signRaw(h, claims, pki.beijingKey.pair.privateKey, crit);

async function refused(
  token: string | Promise<string>,
  code: ErrorCode,
  rule: string,
  overrides: Parameters<typeof verifyOptions>[1] = {},
): Promise<void> {
  const err = await meshErrorOf(verifyExchangeGrant(await token, verifyOptions(pki, overrides)));
  expect([err.code, err.details.rule]).toEqual([code, rule]);
}

describe('exchange grant round trip', () => {
  it('verifies a grant the home node issued, at the audience, over the home city connection', async () => {
    const { token, claims } = await issueExchangeGrant(beijingSigner(pki), REQUEST, NOW_S);
    expect(claims).toMatchObject({ iss: BEIJING_NODE, aud: TIANJIN_NODE, exp: NOW_S + 30 });
    const verified = await verifyExchangeGrant(token, verifyOptions(pki));
    expect(verified).toEqual({ claims, kid: pki.beijingKey.signing.kid, issuerCity: 'beijing' });
  });

  it('refuses to issue a grant that lives longer than 60 s or vouches for another city', async () => {
    for (const request of [
      { ...REQUEST, lifetimeSeconds: 61 },
      { ...REQUEST, lifetimeSeconds: 0 },
      { ...REQUEST, city: 'tianjin' },
      { ...REQUEST, purpose: '' },
    ]) {
      expect((await meshErrorOf(issueExchangeGrant(beijingSigner(pki), request, NOW_S))).code).toBe(
        'MALFORMED_REQUEST',
      );
    }
  });
});

describe('exchange grant attacks', () => {
  it('replayed grant: TOKEN_REPLAYED', async () => {
    const { token } = await issueExchangeGrant(beijingSigner(pki), REQUEST, NOW_S);
    const replay = new MemoryReplayCache();
    await verifyExchangeGrant(token, verifyOptions(pki, { replay }));
    await refused(token, 'TOKEN_REPLAYED', 'jti', { replay, now: NOW_S + 20 });
  });

  it('the same grant raced on many concurrent calls passes exactly once', async () => {
    const { token } = await issueExchangeGrant(beijingSigner(pki), REQUEST, NOW_S);
    const options = verifyOptions(pki);
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => verifyExchangeGrant(token, options)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason.code).toBe('TOKEN_REPLAYED');
  });

  it('grant for another audience, or for several: TOKEN_AUDIENCE_MISMATCH', async () => {
    const other = await issueExchangeGrant(beijingSigner(pki), { ...REQUEST, aud: BEIJING_NODE }, NOW_S);
    await refused(other.token, 'TOKEN_AUDIENCE_MISMATCH', 'aud');
    const nodeTwo = 'spiffe://tianjin.jjj.citymesh/node/node-2';
    await refused(beijingSigned(header(), { ...claimsAt(), aud: nodeTwo }), 'TOKEN_AUDIENCE_MISMATCH', 'aud');
    await refused(
      beijingSigned(header(), { ...claimsAt(), aud: [TIANJIN_NODE, nodeTwo] }),
      'TOKEN_AUDIENCE_MISMATCH',
      'single-audience',
    );
  });

  it('grant for a resource the audience city does not own: TOKEN_AUDIENCE_MISMATCH', async () => {
    const { token } = await issueExchangeGrant(
      beijingSigner(pki),
      { ...REQUEST, resource: 'jjj/beijing/health-commission/clinics' },
      NOW_S,
    );
    await refused(token, 'TOKEN_AUDIENCE_MISMATCH', 'resource-city');
  });

  it('expired grant: TOKEN_EXPIRED, also when the replay cache has forgotten it', async () => {
    const { token } = await issueExchangeGrant(beijingSigner(pki), REQUEST, NOW_S);
    await refused(token, 'TOKEN_EXPIRED', 'expired', { now: NOW_S + 30 + 10 });
    const replay = new MemoryReplayCache();
    await verifyExchangeGrant(token, verifyOptions(pki, { replay }));
    await refused(token, 'TOKEN_EXPIRED', 'expired', { replay, now: NOW_S + 3600 });
  });

  it('grant issued in the future: TOKEN_NOT_YET_VALID', async () => {
    await refused(beijingSigned(header(), claimsAt(NOW_S + 120)), 'TOKEN_NOT_YET_VALID', 'iat-future');
  });

  it('grant lifetime > 60 s: TOKEN_LIFETIME_EXCEEDED', async () => {
    await refused(beijingSigned(header(), claimsAt(NOW_S, 61)), 'TOKEN_LIFETIME_EXCEEDED', 'grant-lifetime');
    await refused(beijingSigned(header(), claimsAt(NOW_S, 86_400)), 'TOKEN_LIFETIME_EXCEEDED', 'grant-lifetime');
  });

  it("grant signed by another city's key, presented over the home city's connection: TOKEN_ISSUER_MISMATCH", async () => {
    const tianjinSigned = signRaw(
      { ...header(), kid: pki.tianjinKey.signing.kid },
      claimsAt(),
      pki.tianjinKey.pair.privateKey,
    );
    await refused(tianjinSigned, 'TOKEN_ISSUER_MISMATCH', 'presenter-city');
  });

  it("grant presented over another city's mTLS connection: TOKEN_ISSUER_MISMATCH", async () => {
    const { token } = await issueExchangeGrant(beijingSigner(pki), REQUEST, NOW_S);
    await refused(token, 'TOKEN_ISSUER_MISMATCH', 'presenter-city', { presenterCity: 'tianjin' });
  });

  it('grant whose iss or city is not the signing city: TOKEN_ISSUER_MISMATCH', async () => {
    const asBeijing = signRaw(
      { ...header(), kid: pki.tianjinKey.signing.kid },
      claimsAt(),
      pki.tianjinKey.pair.privateKey,
    );
    await refused(asBeijing, 'TOKEN_ISSUER_MISMATCH', 'iss', { presenterCity: 'tianjin' });
    await refused(beijingSigned(header(), { ...claimsAt(), city: 'tianjin' }), 'TOKEN_ISSUER_MISMATCH', 'city');
    const fromApp = { ...claimsAt(), iss: 'spiffe://beijing.jjj.citymesh/app/clinic-portal' };
    await refused(beijingSigned(header(), fromApp), 'TOKEN_ISSUER_MISMATCH', 'iss');
  });

  it('grant from a node the metadata does not list, or revoked: NOT_A_MEMBER, NODE_REVOKED', async () => {
    const ghost = { ...claimsAt(), iss: 'spiffe://beijing.jjj.citymesh/node/ghost' };
    await refused(beijingSigned(header(), ghost), 'NOT_A_MEMBER', 'node-not-member');
    const metadata = metadataOf(pki, { revocations: [{ kind: 'node', id: BEIJING_NODE }] });
    await refused(beijingSigned(header()), 'NODE_REVOKED', 'node-revoked', { metadata });
  });

  it('grant signed by a revoked key or from a revoked city: KEY_REVOKED, CITY_REVOKED', async () => {
    const keyRevoked = metadataOf(pki, { revocations: [{ kind: 'key', id: pki.beijingKey.signing.kid }] });
    await refused(beijingSigned(header()), 'KEY_REVOKED', 'key-revoked', { metadata: keyRevoked });
    const cityRevoked = metadataOf(pki, { revocations: [{ kind: 'city', id: 'beijing' }] });
    await refused(beijingSigned(header()), 'CITY_REVOKED', 'city-revoked', { metadata: cityRevoked });
  });

  it('alg none in any casing, HS256 keyed with the public key, EdDSA: TOKEN_ALG_NOT_ALLOWED', async () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      await refused(unsigned(header({ alg }), claimsAt()), 'TOKEN_ALG_NOT_ALLOWED', 'alg-allowlist');
    }
    const publicKeyBytes = new TextEncoder().encode(JSON.stringify(pki.beijingKey.jwk));
    await refused(
      signRaw(header({ alg: 'HS256' }), claimsAt(), publicKeyBytes),
      'TOKEN_ALG_NOT_ALLOWED',
      'alg-allowlist',
    );
    const ed = generateKeyPairSync('ed25519');
    await refused(
      signRaw(header({ alg: 'EdDSA' }), claimsAt(), ed.privateKey as unknown as Uint8Array),
      'TOKEN_ALG_NOT_ALLOWED',
      'alg-allowlist',
    );
  });

  it('unknown kid, or none: TOKEN_KEY_UNKNOWN', async () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signed = signRaw(
      header({ kid: 'not-a-member-key' }),
      claimsAt(),
      stranger.privateKey as unknown as Uint8Array,
    );
    await refused(signed, 'TOKEN_KEY_UNKNOWN', 'kid-unknown');
    const { kid: _kid, ...noKid } = header();
    await refused(beijingSigned(noKid), 'TOKEN_KEY_UNKNOWN', 'kid');
  });

  it('jku, x5u, jwk or x5c header injection: TOKEN_HEADER_INJECTION', async () => {
    const injected = {
      jku: 'https://attacker.example/jwks.json',
      x5u: 'https://attacker.example/cert.pem',
      jwk: pki.beijingKey.jwk,
      x5c: ['MIIB'],
    };
    for (const [name, value] of Object.entries(injected)) {
      await refused(beijingSigned(header({ [name]: value })), 'TOKEN_HEADER_INJECTION', 'key-supplying-header');
    }
  });

  it('unknown crit: TOKEN_CRIT_UNSUPPORTED', async () => {
    const token = beijingSigned(header({ crit: ['urn:example:policy'], 'urn:example:policy': 1 }), claimsAt(), {
      'urn:example:policy': true,
    });
    await refused(token, 'TOKEN_CRIT_UNSUPPORTED', 'crit');
  });

  it('typ confusion (access token, entity statement, metadata, none): TOKEN_TYPE_MISMATCH', async () => {
    for (const typ of ['at+jwt', 'entity-statement+jwt', 'citymesh-cluster-metadata+jwt', 'JWT', undefined]) {
      await refused(beijingSigned(header({ typ })), 'TOKEN_TYPE_MISMATCH', 'typ');
    }
  });

  it('oversized grant: TOKEN_TOO_LARGE, before anything is decoded', async () => {
    const padded = { ...claimsAt(), note: 'x'.repeat(MAX_GRANT_BYTES) };
    await refused(beijingSigned(header(), padded), 'TOKEN_TOO_LARGE', 'max-size');
    await refused(`${'a'.repeat(MAX_GRANT_BYTES)}.b.c`, 'TOKEN_TOO_LARGE', 'max-size');
  });

  it('altered signature or payload: TOKEN_SIGNATURE_INVALID', async () => {
    const { token } = await issueExchangeGrant(beijingSigner(pki), REQUEST, NOW_S);
    const [h, p, s] = token.split('.') as [string, string, string];
    const raised = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), level: 'national' }),
    );
    await refused(`${h}.${raised.toString('base64url')}.${s}`, 'TOKEN_SIGNATURE_INVALID', 'signature');
  });

  it('claims of the wrong shape: TOKEN_MALFORMED', async () => {
    const { purpose: _purpose, ...noPurpose } = claimsAt();
    await refused(beijingSigned(header(), noPurpose), 'TOKEN_MALFORMED', 'claims');
    let act: Record<string, unknown> = { sub: 'a0' };
    for (let i = 1; i <= 6; i++) act = { sub: `a${i}`, act };
    await refused(beijingSigned(header(), { ...claimsAt(), act }), 'TOKEN_MALFORMED', 'claims');
    await refused('not-a-jws', 'TOKEN_MALFORMED', 'compact-shape');
  });

  it('a federation key signer refuses anything but ES256', () => {
    expect(() => federationKeySigner(BEIJING_NODE, { ...pki.beijingKey.signing, alg: 'EdDSA' })).toThrow(TypeError);
  });
});
