import fc from 'fast-check';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { MeshError } from '../../common/errors/mesh-error.js';
import {
  type FederationSigningKey,
  signEntityStatement,
  verifyEntityStatement,
} from '../../trust-anchor/federation/index.js';

const ANCHOR = 'https://anchor.jjj.citymesh.example';
const NOW = 1_767_225_600;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

async function refusal(jwt: string, jwk: JWK): Promise<MeshError | undefined> {
  try {
    await verifyEntityStatement(jwt, { keys: { keys: [jwk] }, now: NOW, fetchedFor: ANCHOR });
    return undefined;
  } catch (err) {
    if (err instanceof MeshError) return err;
    throw err;
  }
}

describe.each(['ES256', 'EdDSA'] as const)('tampering with a signed %s statement', (alg) => {
  let jwt: string;
  let jwk: JWK;

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair(alg);
    const exported = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(exported);
    jwk = { ...exported, kid };
    const key: FederationSigningKey = { kid, privateKey, alg };
    jwt = await signEntityStatement(
      {
        iss: ANCHOR,
        sub: ANCHOR,
        iat: NOW - 60,
        exp: NOW + 3_600,
        jwks: { keys: [jwk] },
        metadata: { federation_entity: { organization_name: 'jjj' } },
      },
      key,
    );
    expect(await refusal(jwt, jwk)).toBeUndefined();
  });

  it('fails verification when any byte of the payload or signature is flipped', async () => {
    const [header, payload, signature] = jwt.split('.') as [string, string, string];
    const segments = { payload: Buffer.from(payload, 'base64url'), signature: Buffer.from(signature, 'base64url') };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('payload', 'signature'),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (segment: 'payload' | 'signature', at, mask) => {
          const bytes = Buffer.from(segments[segment]);
          const index = at % bytes.length;
          bytes[index] = bytes[index]! ^ mask;
          const tampered =
            segment === 'payload'
              ? `${header}.${bytes.toString('base64url')}.${signature}`
              : `${header}.${payload}.${bytes.toString('base64url')}`;
          const err = await refusal(tampered, jwk);
          expect(err?.code).toBe('TOKEN_SIGNATURE_INVALID');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fails verification when any character of the compact form is replaced (header too)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.integer({ min: 1, max: ALPHABET.length - 1 }), async (at, shift) => {
        const index = at % jwt.length;
        const char = jwt[index]!;
        if (char === '.') return;
        const replacement = ALPHABET[(ALPHABET.indexOf(char) + shift) % ALPHABET.length]!;
        const tampered = jwt.slice(0, index) + replacement + jwt.slice(index + 1);
        // Stray trailing bits make a non-canonical spelling (TOKEN_MALFORMED); anything else breaks the signature or the header.
        expect(await refusal(tampered, jwk)).toBeInstanceOf(MeshError);
      }),
      { numRuns: 300 },
    );
  });
});
