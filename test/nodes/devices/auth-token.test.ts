import { createHmac, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../common/clock.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import type { Device, DeviceCredential, DeviceStore } from '../../../common/stores/device-store.js';
import type { PublicJwk } from '../../../common/stores/json.js';
import {
  DeviceTokenVerifier,
  type DeviceTokenVerifierOptions,
  MAX_DEVICE_TOKEN_BYTES,
} from '../../../nodes/devices/auth/index.js';
import { MemoryReplayCache } from '../../../nodes/exchange/replay-cache.js';
import { openMemoryStores } from '../../../stores/index.js';

/**
 * Device-signed JWTs against a real (memory) device registry: the accepted profile, then
 * every attack refused with its own code and rule (device-identity.md §5.2).
 */

const T0 = Date.UTC(2030, 0, 1);
const AUDIENCE = 'https://beijing.jjj.example';
const SUB = 'spiffe://beijing.jjj.citymesh/device/cam-0001';
const DAY = 86_400;

type Alg = 'ES256' | 'EdDSA';
interface DeviceKey {
  readonly alg: Alg;
  readonly privateKey: KeyObject;
  readonly jwk: PublicJwk;
}

function deviceKey(alg: Alg): DeviceKey {
  const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  return { alg, privateKey: pair.privateKey, jwk: pair.publicKey.export({ format: 'jwk' }) as PublicJwk };
}

const es = deviceKey('ES256');
const ed = deviceKey('EdDSA');
const stranger = deviceKey('ES256');

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact JWS with any header, signed with node:crypto so nothing refuses to build it. */
function jws(header: Record<string, unknown>, payload: Record<string, unknown>, key: DeviceKey): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature =
    key.alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign(null, Buffer.from(input), key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

let clock: ManualClock;
let store: DeviceStore;
let replay: MemoryReplayCache;

const nowS = () => clock.nowSeconds();

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: SUB, sub: SUB, aud: AUDIENCE, iat: nowS(), exp: nowS() + 300, jti: randomUUID(), ...overrides };
}

/** A token of cam-0001 signed with `key` under `kid`, its header and claims changed by the overrides. */
function token(
  options: { key?: DeviceKey; kid?: string; header?: Record<string, unknown>; claims?: Record<string, unknown> } = {},
): string {
  const key = options.key ?? es;
  return jws(
    { alg: key.alg, typ: 'citymesh-device+jwt', kid: options.kid ?? (key === ed ? 'ed-1' : 'es-1'), ...options.header },
    claims(options.claims),
    key,
  );
}

const credential = (
  id: string,
  key: DeviceKey,
  from = T0 - DAY * 1000,
  to = T0 + 30 * DAY * 1000,
): DeviceCredential => ({
  credentialId: id,
  kind: 'jwk',
  publicJwk: key.jwk,
  notBefore: new Date(from),
  notAfter: new Date(to),
});

function device(deviceId: string, credentials: DeviceCredential[], city = 'beijing'): Device {
  return {
    city,
    deviceId,
    type: 'transport/traffic-camera',
    industry: 'transport',
    regionCode: '110105',
    ownerOrg: 'traffic-bureau',
    status: 'active',
    credentials,
    createdAt: new Date(T0 - DAY * 1000),
    updatedAt: new Date(T0 - DAY * 1000),
  };
}

function verifier(overrides: Partial<DeviceTokenVerifierOptions> = {}): DeviceTokenVerifier {
  return new DeviceTokenVerifier({
    cluster: 'jjj',
    city: 'beijing',
    audience: AUDIENCE,
    lookup: (city, id) => store.get(city, id),
    replay,
    clock,
    ...overrides,
  });
}

beforeEach(async () => {
  clock = new ManualClock(T0);
  store = openMemoryStores().devices;
  replay = new MemoryReplayCache();
  await store.importBatch([
    device('cam-0001', [
      credential('es-1', es),
      credential('ed-1', ed),
      credential('old-1', es, T0 - 30 * DAY * 1000, T0 - 1000),
    ]),
    device('cam-0002', [credential('next-1', es, T0 + 3_600_000, T0 + 30 * DAY * 1000)]),
    device('cam-0003', [
      {
        credentialId: 'cert-1',
        kind: 'x509',
        certificateSha256: 'a'.repeat(64),
        notBefore: new Date(0),
        notAfter: new Date(T0 + 1e9),
      },
    ]),
    device('cam-0004', [
      { ...credential('enc-1', es), publicJwk: { ...es.jwk, use: 'enc' } },
      { ...credential('es384-1', es), publicJwk: { ...es.jwk, alg: 'ES384' } },
      { ...credential('rsa-1', es), publicJwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } },
    ]),
    device('cam-0001', [credential('es-1', es)], 'tianjin'),
  ]);
});

async function refusal(run: () => Promise<unknown>): Promise<MeshError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof MeshError) return err;
    throw err;
  }
  throw new Error('the token was accepted');
}

async function expectRefused(t: unknown, code: string, rule: string, v = verifier()): Promise<void> {
  const err = await refusal(() => v.verify(t));
  expect({ code: err.code, rule: err.details.rule }).toEqual({ code, rule });
}

describe('accepted tokens', () => {
  it('authenticates an ES256 token and returns the device, the credential and the claims', async () => {
    const result = await verifier().verify(token());
    expect(result.device).toMatchObject({ city: 'beijing', deviceId: 'cam-0001', status: 'active' });
    expect(result).toMatchObject({ spiffeId: SUB, credentialId: 'es-1', expiresAt: new Date((nowS() + 300) * 1000) });
    expect(result.claims).toMatchObject({ sub: SUB, aud: AUDIENCE, iat: nowS(), exp: nowS() + 300 });
  });

  it('authenticates an EdDSA token with an Ed25519 credential', async () => {
    expect((await verifier().verify(token({ key: ed }))).credentialId).toBe('ed-1');
  });

  it('accepts typ application/citymesh-device+jwt and an nbf in the past', async () => {
    const t = token({ header: { typ: 'application/citymesh-device+jwt' }, claims: { nbf: nowS() - 5 } });
    expect((await verifier().verify(t)).claims.nbf).toBe(nowS() - 5);
  });

  it('imports a credential key once, and re-imports it when the credential is replaced', async () => {
    const v = verifier();
    await v.verify(token());
    await v.verify(token());
    expect(v.cachedKeys).toBe(1);
    await store.removeCredential('beijing', 'cam-0001', 'es-1', clock.now());
    await store.addCredential('beijing', 'cam-0001', credential('es-1', stranger), clock.now());
    await expectRefused(token(), 'TOKEN_SIGNATURE_INVALID', 'signature', v);
    expect((await v.verify(token({ key: stranger }))).credentialId).toBe('es-1');
  });
});

describe('times, with 10 minutes of clock skew', () => {
  it.each([
    ['expired just outside the skew', { iat: T0 / 1000 - 900, exp: T0 / 1000 - 600 }, 'TOKEN_EXPIRED', 'expired'],
    ['expired long ago', { iat: T0 / 1000 - 7200, exp: T0 / 1000 - 3600 }, 'TOKEN_EXPIRED', 'expired'],
    ['iat just outside the skew', { iat: T0 / 1000 + 601, exp: T0 / 1000 + 900 }, 'TOKEN_NOT_YET_VALID', 'iat-future'],
    ['nbf just outside the skew', { nbf: T0 / 1000 + 601 }, 'TOKEN_NOT_YET_VALID', 'nbf-future'],
    ['a lifetime of 24 h and 1 s', { exp: T0 / 1000 + DAY + 1 }, 'TOKEN_LIFETIME_EXCEEDED', 'device-token-lifetime'],
    ['exp before iat', { exp: T0 / 1000 - 61 }, 'TOKEN_MALFORMED', 'exp-after-iat'],
    ['no exp', { exp: undefined }, 'TOKEN_MALFORMED', 'exp-required'],
    ['no iat', { iat: undefined }, 'TOKEN_MALFORMED', 'iat-required'],
    ['exp as a string', { exp: String(T0 / 1000 + 60) }, 'TOKEN_MALFORMED', 'numeric-date'],
  ])('refuses %s', async (_name, overrides, code, rule) => {
    await expectRefused(token({ claims: { iat: T0 / 1000 - 60, ...overrides } }), code, rule);
  });

  it.each([
    ['exp just inside the skew', { iat: T0 / 1000 - 900, exp: T0 / 1000 - 599 }],
    ['iat just inside the skew', { iat: T0 / 1000 + 600, exp: T0 / 1000 + 900 }],
    ['nbf just inside the skew', { nbf: T0 / 1000 + 600 }],
    ['a lifetime of exactly 24 h', { exp: T0 / 1000 + DAY }],
  ])('accepts %s', async (_name, overrides) => {
    await expect(verifier().verify(token({ claims: overrides }))).resolves.toBeDefined();
  });

  it('applies a lower lifetime cap when the node sets one', async () => {
    const v = verifier({ maxLifetimeSeconds: 600 });
    await expectRefused(
      token({ claims: { exp: nowS() + 601 } }),
      'TOKEN_LIFETIME_EXCEEDED',
      'device-token-lifetime',
      v,
    );
  });

  it('refuses options beyond the profile', () => {
    expect(() => verifier({ leewaySeconds: 601 })).toThrow(TypeError);
    expect(() => verifier({ maxLifetimeSeconds: DAY + 1 })).toThrow(TypeError);
  });
});

describe('replay', () => {
  it('accepts a jti once, and refuses it again even after the cache of keys is warm', async () => {
    const v = verifier();
    const t = token();
    await v.verify(t);
    await expectRefused(t, 'TOKEN_REPLAYED', 'jti', v);
  });

  it('shares first uses across verifiers that share the replay cache (several nodes of a city)', async () => {
    const t = token();
    await verifier().verify(t);
    await expectRefused(t, 'TOKEN_REPLAYED', 'jti', verifier());
  });

  it('forgets a jti only once its token is refused as expired anyway', async () => {
    const v = verifier();
    const t = token({ claims: { exp: nowS() + 60 } });
    await v.verify(t);
    clock.advanceSeconds(60 + 599);
    await expectRefused(t, 'TOKEN_REPLAYED', 'jti', v);
    clock.advanceSeconds(1);
    await expectRefused(t, 'TOKEN_EXPIRED', 'expired', v);
  });

  it('refuses rather than forgets when the replay cache is full', async () => {
    const v = verifier({ replay: new MemoryReplayCache({ maxEntries: 1 }) });
    await v.verify(token());
    await expectRefused(token(), 'RATE_LIMITED', 'replay-cache-full', v);
  });

  it('requires a jti', async () => {
    await expectRefused(token({ claims: { jti: undefined } }), 'TOKEN_MALFORMED', 'jti-required');
    await expectRefused(token({ claims: { jti: 'x'.repeat(129) } }), 'TOKEN_MALFORMED', 'jti-required');
  });
});

describe('forged tokens', () => {
  it('refuses a token signed by a key that is not registered', async () => {
    await expectRefused(token({ key: stranger }), 'TOKEN_SIGNATURE_INVALID', 'signature');
  });

  it.each([
    ['the signature', (t: string) => t.length - 5],
    ['the payload', (t: string) => t.lastIndexOf('.') - 12],
  ])('refuses a token with a flipped byte in %s', async (_part, at) => {
    const t = token();
    const i = at(t);
    const flipped = `${t.slice(0, i)}${t[i] === 'A' ? 'B' : 'A'}${t.slice(i + 1)}`;
    const err = await refusal(() => verifier().verify(flipped));
    expect(['TOKEN_SIGNATURE_INVALID', 'TOKEN_MALFORMED']).toContain(err.code);
  });

  it('refuses a payload changed after signing', async () => {
    const [header, , signature] = token().split('.');
    const other = b64(claims({ aud: AUDIENCE }));
    await expectRefused(`${header}.${other}.${signature}`, 'TOKEN_SIGNATURE_INVALID', 'signature');
  });

  it.each(['none', 'None', 'NONE'])('refuses alg %s, with or without a signature', async (alg) => {
    const unsigned = `${b64({ alg, typ: 'citymesh-device+jwt', kid: 'es-1' })}.${b64(claims())}.`;
    await expectRefused(unsigned, 'TOKEN_ALG_NOT_ALLOWED', 'alg-allowlist');
    const [, , signature] = token().split('.');
    await expectRefused(`${unsigned}${signature}`, 'TOKEN_ALG_NOT_ALLOWED', 'alg-allowlist');
  });

  it('refuses HS256 keyed with the registered public key (key confusion)', async () => {
    const input = `${b64({ alg: 'HS256', typ: 'citymesh-device+jwt', kid: 'es-1' })}.${b64(claims())}`;
    const mac = createHmac('sha256', JSON.stringify(es.jwk)).update(input).digest('base64url');
    await expectRefused(`${input}.${mac}`, 'TOKEN_ALG_NOT_ALLOWED', 'alg-allowlist');
  });

  it.each(['RS256', 'PS256', 'ES384', 'es256', 'Ed25519'])('refuses alg %s', async (alg) => {
    await expectRefused(token({ header: { alg } }), 'TOKEN_ALG_NOT_ALLOWED', 'alg-allowlist');
  });

  it('refuses an ES256 header on an Ed25519 credential, and EdDSA on a P-256 one', async () => {
    await expectRefused(token({ kid: 'ed-1' }), 'TOKEN_ALG_NOT_ALLOWED', 'alg-key-type');
    await expectRefused(token({ key: ed, kid: 'es-1' }), 'TOKEN_ALG_NOT_ALLOWED', 'alg-key-type');
  });

  it.each([
    ['a key-supplying jwk header', { jwk: stranger.jwk }, 'TOKEN_HEADER_INJECTION', 'key-supplying-header'],
    ['a jku header', { jku: 'https://evil.example/jwks' }, 'TOKEN_HEADER_INJECTION', 'key-supplying-header'],
    ['an x5c header', { x5c: ['MIIB'] }, 'TOKEN_HEADER_INJECTION', 'key-supplying-header'],
    ['typ at+jwt', { typ: 'at+jwt' }, 'TOKEN_TYPE_MISMATCH', 'typ'],
    ['no typ', { typ: undefined }, 'TOKEN_TYPE_MISMATCH', 'typ'],
    ['crit', { crit: ['exp'] }, 'TOKEN_CRIT_UNSUPPORTED', 'crit'],
    ['an extra header member', { cty: 'JWT' }, 'TOKEN_MALFORMED', 'header-members'],
    ['no kid', { kid: undefined }, 'TOKEN_KEY_UNKNOWN', 'kid'],
  ])('refuses %s', async (_name, header, code, rule) => {
    await expectRefused(token({ header }), code, rule);
  });

  it.each([
    ['a number', 42, 'TOKEN_MALFORMED', 'type'],
    ['an oversized token', 'a'.repeat(MAX_DEVICE_TOKEN_BYTES + 1), 'TOKEN_TOO_LARGE', 'max-size'],
    ['two segments', 'eyJhIjoxfQ.eyJhIjoxfQ', 'TOKEN_MALFORMED', 'compact-shape'],
    ['a header that is not JSON', 'bm90IGpzb24.eyJhIjoxfQ.', 'TOKEN_MALFORMED', 'header-json'],
  ])('refuses %s', async (_name, t, code, rule) => {
    await expectRefused(t, code, rule);
  });
});

describe('credentials', () => {
  it.each([
    ['a credential past its window', 'old-1', 'credential-expired'],
    ['an unknown kid', 'nope', 'kid-unknown'],
  ])('refuses %s', async (_name, kid, rule) => {
    await expectRefused(token({ kid }), 'TOKEN_KEY_UNKNOWN', rule);
  });

  it('refuses a credential before its window opens, and accepts it once open', async () => {
    const sub = 'spiffe://beijing.jjj.citymesh/device/cam-0002';
    const t = () => token({ kid: 'next-1', claims: { iss: sub, sub } });
    await expectRefused(t(), 'TOKEN_KEY_UNKNOWN', 'credential-not-yet-valid');
    clock.advanceSeconds(3600);
    expect((await verifier().verify(t())).device.deviceId).toBe('cam-0002');
  });

  it.each(['enc-1', 'es384-1', 'rsa-1'])('refuses credential %s, whose key may not verify ES256', async (kid) => {
    const sub = 'spiffe://beijing.jjj.citymesh/device/cam-0004';
    await expectRefused(token({ kid, claims: { iss: sub, sub } }), 'TOKEN_KEY_UNKNOWN', 'key-unusable');
  });

  it('keeps working with a key cache smaller than the devices it serves', async () => {
    const v = verifier({ keyCacheEntries: 1 });
    await v.verify(token());
    await v.verify(token({ key: ed }));
    await v.verify(token());
    expect(v.cachedKeys).toBe(1);
  });

  it('refuses to run without a replay cache', () => {
    expect(() => verifier({ replay: undefined as never })).toThrow(TypeError);
  });

  it('refuses a certificate credential as a token key', async () => {
    const sub = 'spiffe://beijing.jjj.citymesh/device/cam-0003';
    await expectRefused(token({ kid: 'cert-1', claims: { iss: sub, sub } }), 'TOKEN_KEY_UNKNOWN', 'kid-not-jwk');
  });
});

describe('devices', () => {
  it.each([
    ['a device of another city', 'spiffe://tianjin.jjj.citymesh/device/cam-0001', 'DEVICE_WRONG_CITY', 'device-city'],
    [
      'a device of another cluster',
      'spiffe://beijing.prd.citymesh/device/cam-0001',
      'DEVICE_WRONG_CITY',
      'device-city',
    ],
    ['an unknown device', 'spiffe://beijing.jjj.citymesh/device/cam-9999', 'DEVICE_NOT_FOUND', 'device-unknown'],
    ['an app, not a device', 'spiffe://beijing.jjj.citymesh/app/planner', 'TOKEN_MALFORMED', 'sub'],
    ['a sub that is no SPIFFE id', 'cam-0001', 'TOKEN_MALFORMED', 'sub'],
  ])('refuses %s', async (_name, sub, code, rule) => {
    await expectRefused(token({ claims: { iss: sub, sub } }), code, rule);
  });

  it('refuses a token whose iss is not its sub', async () => {
    await expectRefused(token({ claims: { iss: AUDIENCE } }), 'TOKEN_ISSUER_MISMATCH', 'iss-sub');
  });

  it('refuses a suspended device at once, even with a token accepted before, and accepts it again once resumed', async () => {
    const v = verifier();
    const accepted = token();
    const fresh = token();
    await v.verify(accepted);
    await store.setStatus('beijing', 'cam-0001', 'suspended', clock.now());
    await expectRefused(fresh, 'DEVICE_SUSPENDED', 'device-suspended', v);
    await expectRefused(accepted, 'DEVICE_SUSPENDED', 'device-suspended', v);
    await store.setStatus('beijing', 'cam-0001', 'active', clock.now());
    expect((await v.verify(fresh)).device.status).toBe('active');
  });

  it('refuses a revoked device', async () => {
    const v = verifier();
    await v.verify(token());
    await store.setStatus('beijing', 'cam-0001', 'revoked', clock.now());
    await expectRefused(token(), 'DEVICE_REVOKED', 'device-revoked', v);
  });

  it('decides the device before the signature: a suspended device is refused for that, whoever signed', async () => {
    await store.setStatus('beijing', 'cam-0001', 'suspended', clock.now());
    await expectRefused(token({ key: stranger }), 'DEVICE_SUSPENDED', 'device-suspended');
  });
});

describe('audience', () => {
  it.each([
    ['another audience', 'https://tianjin.jjj.example', 'aud'],
    ['an array audience', [AUDIENCE], 'single-audience'],
  ])('refuses %s', async (_name, aud, rule) => {
    await expectRefused(token({ claims: { aud } }), 'TOKEN_AUDIENCE_MISMATCH', rule);
  });
});
