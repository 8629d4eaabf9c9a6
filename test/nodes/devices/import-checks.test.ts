import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Device } from '../../../common/stores/device-store.js';
import {
  cityDeviceChecker,
  DeviceFault,
  jwkThumbprint,
  parseInstant,
  publicJwkProblem,
  publicKeyProblem,
  syntheticDevices,
} from '../../../nodes/devices/index.js';

const checker = cityDeviceChecker('tianjin');
const at = new Date('2025-06-01T00:00:00Z');
const valid = syntheticDevices({ city: 'tianjin', devices: 1 });
const EC_X = 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU';
const EC_Y = 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0';

/** Line 0 of the synthetic manifest with some members replaced (undefined removes one). */
function line(changes: Record<string, unknown>): Record<string, unknown> {
  const base: Record<string, unknown> = { ...valid(0), ...changes };
  for (const [key, value] of Object.entries(changes)) if (value === undefined) delete base[key];
  return base;
}

function credential(changes: Record<string, unknown>): Record<string, unknown> {
  const base: Record<string, unknown> = {
    credentialId: 'k1',
    kind: 'jwk',
    publicJwk: { kty: 'EC', crv: 'P-256', x: EC_X, y: EC_Y },
    notBefore: '2025-01-01T00:00:00Z',
    notAfter: '2026-01-01T00:00:00Z',
    ...changes,
  };
  for (const [key, value] of Object.entries(changes)) if (value === undefined) delete base[key];
  return base;
}

function fault(input: unknown): DeviceFault {
  const result = checker.check(input, at);
  if (!(result instanceof DeviceFault)) throw new Error(`accepted: ${JSON.stringify(result)}`);
  return result;
}

describe('device checks of a manifest line', () => {
  it('accepts a valid line as an active device of the node city, created at the batch instant', () => {
    const device = checker.check(line({}), at) as Device;
    expect(device).toMatchObject({ city: 'tianjin', status: 'active', createdAt: at, updatedAt: at });
    expect(device.credentials[0]?.notBefore).toEqual(new Date('2025-01-01T00:00:00Z'));
    expect(device.attributes).toEqual({ vendor: 'vendor-0' });
  });

  it('treats empty attributes as none, so a re-import compares equal', () => {
    const device = checker.check(line({ attributes: {} }), at) as Device;
    expect('attributes' in device).toBe(false);
  });

  it.each([
    ['not an object', [1, 2], '', 'MALFORMED_REQUEST'],
    ['an unknown field', { status: 'suspended' }, 'status', 'MALFORMED_REQUEST'],
    ['a bad device id', { deviceId: 'has space' }, 'deviceId', 'INVALID_IDENTIFIER'],
    ['a missing device id', { deviceId: undefined }, 'deviceId', 'INVALID_IDENTIFIER'],
    ['an unknown industry', { industry: 'heath' }, 'industry', 'INVALID_IDENTIFIER'],
    ['a type of another industry', { industry: 'health' }, 'type', 'INVALID_IDENTIFIER'],
    ['an unknown type', { type: 'flux-capacitor' }, 'type', 'INVALID_IDENTIFIER'],
    ['a malformed region code', { regionCode: '12010' }, 'regionCode', 'INVALID_REGION_CODE'],
    ['a region of another city', { regionCode: '110105' }, 'regionCode', 'DEVICE_WRONG_CITY'],
    ['a bad owner org', { ownerOrg: 'Upper Case' }, 'ownerOrg', 'INVALID_IDENTIFIER'],
    ['credentials not an array', { credentials: {} }, 'credentials', 'MALFORMED_REQUEST'],
    [
      'four credentials',
      { credentials: [1, 2, 3, 4].map((n) => credential({ credentialId: `k${n}` })) },
      'credentials',
      'MALFORMED_REQUEST',
    ],
    [
      'a credential id twice',
      { credentials: [credential({}), credential({})] },
      'credentials[1].credentialId',
      'MALFORMED_REQUEST',
    ],
    ['attributes of numbers', { attributes: { floor: 3 } }, 'attributes.floor', 'MALFORMED_REQUEST'],
    ['a bad attribute name', { attributes: { '9lives': 'x' } }, 'attributes.9lives', 'MALFORMED_REQUEST'],
  ])('refuses %s, naming the field', (_name, changes, field, code) => {
    const f = fault(Array.isArray(changes) ? changes : line(changes as Record<string, unknown>));
    expect({ field: f.field, code: f.code }).toEqual({ field, code });
    if (field !== '') expect(f.message).toContain(field.split(/[.[]/)[0]);
  });

  it('suggests the industry meant, and the type meant', () => {
    expect(fault(line({ industry: 'heath' })).message).toContain('did you mean "health"?');
    const typo = fault(line({ type: 'queue-ticket-machin', industry: 'government-services' }));
    expect(typo.message).toContain('did you mean "queue-ticket-machine"?');
  });

  it('accepts a region anywhere inside the city: the city itself, a district, a street', () => {
    for (const regionCode of ['120000', '120101', '120101001', '120101001002']) {
      expect(checker.check(line({ regionCode }), at)).not.toBeInstanceOf(DeviceFault);
    }
  });

  it.each([
    ['an unknown member', credential({ usage: 'x' }), 'credentials[0].usage'],
    ['kind x509', credential({ kind: 'x509' }), 'credentials[0].kind'],
    ['a bad credential id', credential({ credentialId: '' }), 'credentials[0].credentialId'],
    [
      'a private key',
      credential({ publicJwk: { kty: 'EC', crv: 'P-256', x: EC_X, y: EC_Y, d: EC_X } }),
      'credentials[0].publicJwk.d',
    ],
    [
      'a P-384 key',
      credential({ publicJwk: { kty: 'EC', crv: 'P-384', x: EC_X, y: EC_Y } }),
      'credentials[0].publicJwk.crv',
    ],
    ['an RSA key', credential({ publicJwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } }), 'credentials[0].publicJwk.kty'],
    [
      'a short coordinate',
      credential({ publicJwk: { kty: 'OKP', crv: 'Ed25519', x: 'abc' } }),
      'credentials[0].publicJwk.x',
    ],
    [
      'a y on an Ed25519 key',
      credential({ publicJwk: { kty: 'OKP', crv: 'Ed25519', x: EC_X, y: EC_Y } }),
      'credentials[0].publicJwk.y',
    ],
    [
      'an encryption key',
      credential({ publicJwk: { kty: 'EC', crv: 'P-256', x: EC_X, y: EC_Y, use: 'enc' } }),
      'credentials[0].publicJwk.use',
    ],
    ['a date without offset', credential({ notBefore: '2025-01-01T00:00:00' }), 'credentials[0].notBefore'],
    ['30 February', credential({ notAfter: '2026-02-30T00:00:00Z' }), 'credentials[0].notAfter'],
    ['notAfter = notBefore', credential({ notAfter: '2025-01-01T00:00:00Z' }), 'credentials[0].notAfter'],
    ['notAfter before notBefore', credential({ notAfter: '2024-01-01T00:00:00Z' }), 'credentials[0].notAfter'],
  ])('refuses a credential with %s', (_name, bad, field) => {
    const f = fault(line({ credentials: [bad] }));
    expect(f.field).toBe(field);
    expect(f.message).toContain(field);
  });
});

describe('public device keys', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });

  it('accepts real P-256 and Ed25519 keys, with the full check too', () => {
    for (const jwk of [ec, ed, { ...ec, alg: 'ES256', use: 'sig', kid: 'a' }, { ...ed, alg: 'EdDSA' }]) {
      expect(publicJwkProblem(jwk)).toBeUndefined();
      expect(publicKeyProblem(jwk)).toBeUndefined();
    }
  });

  it('the full check refuses an EC point off the curve that the shape check lets through', () => {
    const off = { kty: 'EC', crv: 'P-256', x: EC_X, y: EC_X };
    expect(publicJwkProblem(off)).toBeUndefined();
    expect(publicKeyProblem(off)?.message).toMatch(/not a valid public key/);
  });

  it('computes RFC 7638 thumbprints (RFC 7638 §3.1 gives the RSA example; this is the EC analogue)', () => {
    const thumbprint = jwkThumbprint({ kty: 'EC', crv: 'P-256', x: EC_X, y: EC_Y, kid: 'ignored' });
    expect(thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(jwkThumbprint({ kty: 'EC', crv: 'P-256', x: EC_X, y: EC_Y })).toBe(thumbprint);
  });

  it('parses RFC 3339 instants with offsets and refuses impossible dates', () => {
    expect(parseInstant('2025-01-01T08:00:00+08:00')).toBe(Date.UTC(2025, 0, 1));
    expect(parseInstant('2024-02-29T00:00:00.5Z')).toBe(Date.UTC(2024, 1, 29, 0, 0, 0, 500));
    for (const bad of [
      '2025-02-29T00:00:00Z',
      '2025-13-01T00:00:00Z',
      '2025-01-01 00:00:00Z',
      '2025-01-01T24:00:00Z',
    ]) {
      expect(parseInstant(bad)).toBeUndefined();
    }
  });
});
