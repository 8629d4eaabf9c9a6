import { generateKeyPairSync } from 'node:crypto';
import {
  base64url,
  CompactSign,
  type CryptoKey,
  calculateJwkThumbprint,
  compactVerify,
  exportJWK,
  generateKeyPair,
  type JWK,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { type FederationAlgorithm, signCompact } from '../../trust-anchor/federation/index.js';
import { publicKeyObject, verifyCompactSignature } from '../../trust-anchor/federation/jws-native.js';

interface Key {
  kid: string;
  alg: FederationAlgorithm;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function newKey(alg: FederationAlgorithm): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, alg, privateKey, publicKey, jwk: { ...jwk, kid } };
}

const signingInput = (jws: string) => jws.split('.').slice(0, 2).join('.');
const signatureOf = (jws: string) => jws.split('.')[2]!;

describe('node:crypto compact JWS', () => {
  let es: Key;
  let ed: Key;
  beforeAll(async () => {
    [es, ed] = await Promise.all([newKey('ES256'), newKey('EdDSA')]);
  });

  it('signs what jose verifies, with the same header and payload segments jose makes', async () => {
    for (const key of [es, ed]) {
      const header = { alg: key.alg, kid: key.kid, typ: 'citymesh-receipt+jws' };
      for (const payload of [new TextEncoder().encode('{"a":"é\u{1F600}"}'), '{"sub":"ünïcode"}']) {
        const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
        const ours = signCompact({ kid: key.kid, alg: key.alg, privateKey: key.privateKey }, header, payload);
        const verified = await compactVerify(ours, key.publicKey);
        expect(Buffer.from(verified.payload)).toEqual(Buffer.from(bytes));
        expect(verified.protectedHeader).toEqual(header);
        const theirs = await new CompactSign(bytes).setProtectedHeader(header).sign(key.privateKey);
        expect(signingInput(ours)).toBe(signingInput(theirs));
      }
    }
  });

  it('verifies what jose signs and refuses any other signature', async () => {
    for (const key of [es, ed]) {
      const jws = await new CompactSign(new TextEncoder().encode('{"n":1}'))
        .setProtectedHeader({ alg: key.alg, kid: key.kid })
        .sign(key.privateKey);
      const publicKey = publicKeyObject(key.jwk, key.alg);
      expect(verifyCompactSignature(key.alg, publicKey, signingInput(jws), signatureOf(jws))).toBe(true);
      const other = `${signingInput(jws).slice(0, -1)}${signingInput(jws).endsWith('A') ? 'B' : 'A'}`;
      expect(verifyCompactSignature(key.alg, publicKey, other, signatureOf(jws))).toBe(false);
      const signature = Buffer.from(signatureOf(jws), 'base64url');
      signature[5] = (signature[5] ?? 0) ^ 1;
      expect(verifyCompactSignature(key.alg, publicKey, signingInput(jws), signature.toString('base64url'))).toBe(
        false,
      );
      // Truncated, padded, DER-encoded or empty signatures are refused, never thrown.
      for (const bad of [signature.subarray(0, 63), Buffer.concat([signature, Buffer.alloc(1)]), Buffer.alloc(0)]) {
        expect(verifyCompactSignature(key.alg, publicKey, signingInput(jws), base64url.encode(bad))).toBe(false);
      }
    }
  });

  it('refuses a key of the other algorithm, for signing and verifying', () => {
    const ecPrivate = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    expect(() => signCompact({ kid: 'k', alg: 'ES256', privateKey: ecPrivate }, { alg: 'ES256' }, 'x')).toThrow(
      TypeError,
    );
    expect(() => signCompact({ kid: 'k', alg: 'EdDSA', privateKey: es.privateKey }, { alg: 'EdDSA' }, 'x')).toThrow(
      TypeError,
    );
    expect(() => signCompact({ kid: 'k', alg: 'ES256', privateKey: es.privateKey }, { alg: 'EdDSA' }, 'x')).toThrow(
      TypeError,
    );
    const jws = signCompact({ kid: es.kid, alg: 'ES256', privateKey: es.privateKey }, { alg: 'ES256' }, 'x');
    const edKey = publicKeyObject(ed.jwk, 'EdDSA');
    expect(verifyCompactSignature('ES256', edKey, signingInput(jws), signatureOf(jws))).toBe(false);
    expect(() => publicKeyObject(ed.jwk, 'ES256')).toThrow();
  });

  it('imports each trusted JWK once per algorithm', () => {
    expect(publicKeyObject(es.jwk, 'ES256')).toBe(publicKeyObject(es.jwk, 'ES256'));
  });
});
