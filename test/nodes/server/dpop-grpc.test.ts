import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf } from '../../support/anchor-harness.js';
import { startTokenNode, type TokenNode } from './token-node.js';

let n: TokenNode;
let keys: Awaited<ReturnType<typeof generateKeyPair>>;
let token: string;
let htu: string;

/** A DPoP proof as RFC 9449 §4.2 shapes it, for a gRPC call (HTTP/2 POST to the method path). */
async function proof(
  overrides: { htu?: string; htm?: string; ath?: string; jti?: string; iat?: number; key?: typeof keys } = {},
): Promise<string> {
  const signer = overrides.key ?? keys;
  return new SignJWT({
    htm: overrides.htm ?? 'POST',
    htu: overrides.htu ?? htu,
    jti: overrides.jti ?? randomUUID(),
    ath: overrides.ath ?? createHash('sha256').update(token).digest('base64url'),
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(signer.publicKey) })
    .setIssuedAt(overrides.iat)
    .sign(signer.privateKey);
}

beforeAll(async () => {
  n = await startTokenNode();
  keys = await generateKeyPair('ES256', { extractable: true });
  token = await n.token(keys);
  htu = `https://${n.node.context.identity.grpcEndpoint}/citymesh.v1.NodeService/GetNodeStatus`;
});

afterAll(() => n?.stop());

describe('DPoP-bound access tokens on gRPC calls', () => {
  it('are accepted with a fresh proof of the bound key for this call', async () => {
    expect((await n.status({ authorization: `DPoP ${token}`, dpop: await proof() })).city).toBe('beijing');
  });

  it('are refused without a proof, with a replayed one, or one of another key, call or token', async () => {
    const status = async (dpop?: string) =>
      codeOf(n.status({ authorization: `DPoP ${token}`, ...(dpop === undefined ? {} : { dpop }) }));
    expect(await status()).toBe('CREDENTIALS_MISSING');
    const once = await proof();
    expect((await n.status({ authorization: `DPoP ${token}`, dpop: once })).city).toBe('beijing');
    expect(await status(once)).toBe('TOKEN_REPLAYED');
    expect(await status(await proof({ key: await generateKeyPair('ES256', { extractable: true }) }))).toBe(
      'TOKEN_KEY_UNKNOWN',
    );
    expect(await status(await proof({ htu: htu.replace('GetNodeStatus', 'Other') }))).toBe('TOKEN_AUDIENCE_MISMATCH');
    expect(await status(await proof({ htm: 'GET' }))).toBe('TOKEN_AUDIENCE_MISMATCH');
    expect(await status(await proof({ ath: createHash('sha256').update('other').digest('base64url') }))).toBe(
      'TOKEN_AUDIENCE_MISMATCH',
    );
    expect(await status(await proof({ iat: Math.floor(Date.now() / 1000) - 600 }))).toBe('TOKEN_EXPIRED');
  });
});
