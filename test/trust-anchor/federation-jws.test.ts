import { base64url, type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { MeshError } from '../../common/errors/mesh-error.js';
import { type FederationAlgorithm, type VerifyJwsOptions, verifyJws } from '../../trust-anchor/federation/index.js';

const NOW = 1_767_225_600;
const TYP = 'entity-statement+jwt';

interface Key {
  kid: string;
  alg: FederationAlgorithm;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function newKey(alg: FederationAlgorithm): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, alg, privateKey, jwk: { ...jwk, kid } };
}

function sign(
  key: Key,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
  crit?: Record<string, boolean>,
) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: TYP, ...header })
    .sign(key.privateKey, crit === undefined ? undefined : { crit });
}

/** A token with the given header and a signature that cannot verify: for checks that run before the signature. */
const forged = (header: object, payload: object = { exp: NOW + 60 }) =>
  `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}.${base64url.encode(new Uint8Array(64))}`;

async function outcome(token: unknown, options: Partial<VerifyJwsOptions> & { keys: VerifyJwsOptions['keys'] }) {
  try {
    await verifyJws(token, { expectedTyp: TYP, now: NOW, ...options });
    return 'ok';
  } catch (err) {
    if (!(err instanceof MeshError)) throw err;
    return `${err.code}/${err.details.rule}`;
  }
}

describe('verifyJws', () => {
  let es: Key;
  let ed: Key;
  const claims = { iat: NOW - 10, exp: NOW + 600 };

  beforeAll(async () => {
    [es, ed] = await Promise.all([newKey('ES256'), newKey('EdDSA')]);
  });

  const keys = () => ({ keys: [es.jwk, ed.jwk] });

  it('verifies ES256 and EdDSA tokens and returns header, payload and the key used', async () => {
    const result = await verifyJws(await sign(ed, claims), {
      expectedTyp: TYP,
      now: new Date(NOW * 1000),
      keys: keys(),
    });
    expect(result.header).toMatchObject({ alg: 'EdDSA', kid: ed.kid, typ: TYP });
    expect(result.payload).toEqual(claims);
    expect(result.key).toBe(ed.jwk);
    expect(await outcome(await sign(es, claims), { keys: keys() })).toBe('ok');
  });

  it('compares typ exactly, with the application/ prefix optional and case-insensitive (RFC 7515 §4.1.9)', async () => {
    expect(await outcome(await sign(es, claims, { typ: `application/${TYP}` }), { keys: keys() })).toBe('ok');
    expect(await outcome(await sign(es, claims, { typ: `APPLICATION/${TYP}` }), { keys: keys() })).toBe('ok');
    expect(await outcome(await sign(es, claims, { typ: 'Entity-Statement+JWT' }), { keys: keys() })).toBe(
      'TOKEN_TYPE_MISMATCH/typ',
    );
    expect(await outcome(await sign(es, claims, { typ: undefined }), { keys: keys() })).toBe('TOKEN_TYPE_MISMATCH/typ');
    expect(await outcome(await sign(es, claims, { typ: `text/${TYP}` }), { keys: keys() })).toBe(
      'TOKEN_TYPE_MISMATCH/typ',
    );
  });

  it('accepts a crit extension the caller understands, and refuses crit that is unknown, registered or absent', async () => {
    const withExt = await sign(
      es,
      claims,
      { crit: ['urn:citymesh:x'], 'urn:citymesh:x': 1 },
      { 'urn:citymesh:x': true },
    );
    expect(await outcome(withExt, { keys: keys(), understoodCrit: ['urn:citymesh:x'] })).toBe('ok');
    expect(await outcome(withExt, { keys: keys() })).toBe('TOKEN_CRIT_UNSUPPORTED/crit');
    const base = { alg: 'ES256', kid: es.kid, typ: TYP };
    expect(
      await outcome(forged({ ...base, crit: ['urn:citymesh:x'] }), {
        keys: keys(),
        understoodCrit: ['urn:citymesh:x'],
      }),
    ).toBe('TOKEN_CRIT_UNSUPPORTED/crit');
    expect(await outcome(forged({ ...base, crit: ['kid'] }), { keys: keys() })).toBe('TOKEN_CRIT_UNSUPPORTED/crit');
    expect(await outcome(forged({ ...base, crit: [] }), { keys: keys() })).toBe('TOKEN_CRIT_UNSUPPORTED/crit');
    expect(await outcome(forged({ ...base, crit: ['b64'], b64: false }), { keys: keys() })).toBe(
      'TOKEN_CRIT_UNSUPPORTED/crit',
    );
  });

  it('applies the leeway to iat, nbf and exp alike', async () => {
    expect(await outcome(await sign(es, { iat: NOW - 600, exp: NOW - 30 }), { keys: keys() })).toBe('ok');
    expect(await outcome(await sign(es, { iat: NOW - 600, exp: NOW - 60 }), { keys: keys() })).toBe(
      'TOKEN_EXPIRED/expired',
    );
    expect(await outcome(await sign(es, { iat: NOW - 600, exp: NOW }), { keys: keys(), leewaySeconds: 0 })).toBe(
      'TOKEN_EXPIRED/expired',
    );
    expect(await outcome(await sign(es, { iat: NOW + 59, exp: NOW + 600 }), { keys: keys() })).toBe('ok');
    expect(await outcome(await sign(es, { nbf: NOW + 61, exp: NOW + 600 }), { keys: keys() })).toBe(
      'TOKEN_NOT_YET_VALID/nbf-future',
    );
  });

  it('requires exp unless told otherwise, and well-formed NumericDates', async () => {
    expect(await outcome(await sign(es, { iat: NOW }), { keys: keys() })).toBe('TOKEN_MALFORMED/exp-required');
    expect(await outcome(await sign(es, { iat: NOW }), { keys: keys(), requireExp: false })).toBe('ok');
    expect(await outcome(await sign(es, { iat: NOW, exp: '2030' }), { keys: keys() })).toBe(
      'TOKEN_MALFORMED/numeric-date',
    );
    expect(await outcome(await sign(es, { iat: NOW, exp: NOW - 1 }), { keys: keys() })).toBe(
      'TOKEN_MALFORMED/exp-after-iat',
    );
  });

  it('refuses keys that do not fit: wrong type for alg, duplicate kid, not for signatures', async () => {
    const token = await sign(es, claims);
    expect(await outcome(token, { keys: { keys: [{ ...ed.jwk, kid: es.kid }] } })).toBe(
      'TOKEN_ALG_NOT_ALLOWED/key-alg-mismatch',
    );
    expect(await outcome(token, { keys: { keys: [es.jwk, { ...es.jwk }] } })).toBe('TOKEN_KEY_UNKNOWN/kid-ambiguous');
    expect(await outcome(token, { keys: { keys: [{ ...es.jwk, use: 'enc' }] } })).toBe('TOKEN_KEY_UNKNOWN/key-use');
    expect(await outcome(token, { keys: { keys: [{ ...es.jwk, alg: 'EdDSA' }] } })).toBe(
      'TOKEN_ALG_NOT_ALLOWED/key-alg-mismatch',
    );
    expect(await outcome(token, { keys: { keys: [{ ...es.jwk, x: 'AAAA' }] } })).toBe('TOKEN_KEY_UNKNOWN/key-unusable');
    expect(await outcome(forged({ alg: 'ES256', typ: TYP }), { keys: keys() })).toBe('TOKEN_KEY_UNKNOWN/kid');
  });

  it('refuses malformed input before decoding anything', async () => {
    expect(await outcome(42, { keys: keys() })).toBe('TOKEN_MALFORMED/type');
    expect(await outcome('a.b', { keys: keys() })).toBe('TOKEN_MALFORMED/compact-shape');
    expect(await outcome('a=.b.c', { keys: keys() })).toBe('TOKEN_MALFORMED/compact-shape');
    expect(await outcome(`${base64url.encode('[1]')}.e30.`, { keys: keys() })).toBe('TOKEN_MALFORMED/header-json');
    expect(await outcome(await sign(es, claims), { keys: keys(), maxBytes: 100 })).toBe('TOKEN_TOO_LARGE/max-size');
    expect(await outcome(await sign(es, claims), { keys: keys(), algorithms: ['EdDSA'] })).toBe(
      'TOKEN_ALG_NOT_ALLOWED/alg-allowlist',
    );
  });

  it('treats a bad option as programmer misuse (TypeError naming the option)', async () => {
    const token = await sign(es, claims);
    const bad: [Partial<VerifyJwsOptions>, RegExp][] = [
      [{ algorithms: ['HS256' as FederationAlgorithm] }, /algorithms/],
      [{ leewaySeconds: 3_600 }, /leewaySeconds/],
      [{ now: NOW * 1000 }, /milliseconds/],
      [{ expectedTyp: '' }, /expectedTyp/],
      [{ understoodCrit: ['alg'] }, /understoodCrit/],
    ];
    for (const [options, message] of bad) {
      await expect(verifyJws(token, { expectedTyp: TYP, now: NOW, keys: keys(), ...options })).rejects.toThrow(message);
    }
  });
});
