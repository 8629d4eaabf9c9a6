import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../../common/canonical-json.js';
import { isMeshError } from '../../../common/errors/mesh-error.js';
import {
  CHECKPOINT_TYP,
  keySigner,
  RECEIPT_TYP,
  type ReceiptClaims,
  signCheckpoint,
  signReceipt,
  verifyReceipt,
} from '../../../nodes/audit/index.js';
import { BEIJING, digest, FETCH, HEBEI, newKey, TIANJIN } from './support.js';

const NOW = new Date(Date.UTC(2025, 5, 1, 8));

const claims: ReceiptClaims = {
  providerNodeId: BEIJING,
  consumerNodeId: TIANJIN,
  correlationId: 'corr-42',
  method: FETCH,
  requestHash: digest('request'),
  responseDigest: digest('response'),
  auditSequence: 17,
  issuedAt: NOW,
};

const expected = {
  consumerNodeId: TIANJIN,
  providerNodeId: BEIJING,
  correlationId: 'corr-42',
  method: FETCH,
  requestHash: digest('request'),
  responseDigest: digest('response'),
};

async function refusal(promise: Promise<unknown>): Promise<{ rule: unknown; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (!isMeshError(err, 'RECEIPT_INVALID')) throw err;
    return { rule: err.details.rule, message: err.message };
  }
  throw new Error('the receipt was accepted');
}

const payloadBytes = (p: Record<string, string>) => new TextEncoder().encode(canonicalize(p));

describe('exchange receipts', () => {
  it('verifies a receipt signed by the provider and returns its claims', async () => {
    const provider = await newKey();
    const jws = await signReceipt(claims, provider.signer);
    const verified = await verifyReceipt(jws, { keys: provider.jwks, now: NOW, expected });
    expect(verified.claims).toEqual(claims);
    expect(verified.kid).toBe(provider.kid);
  });

  it('signs the canonical JSON of the proto Receipt fields, with the sequence as a decimal string', async () => {
    const provider = await newKey();
    const jws = await signReceipt(claims, provider.signer);
    const [header, payload] = jws.split('.').map((s) => Buffer.from(s, 'base64url').toString());
    expect(JSON.parse(header as string)).toEqual({ alg: 'ES256', kid: provider.kid, typ: RECEIPT_TYP });
    expect(payload).toBe(canonicalize({ ...expected, auditSequence: '17', issuedAt: '2025-06-01T08:00:00Z' }));
  });

  it('refuses a receipt signed by another key, even one that claims the provider', async () => {
    const provider = await newKey();
    const forger = await newKey();
    const jws = await signReceipt(claims, forger.signer);
    expect((await refusal(verifyReceipt(jws, { keys: provider.jwks, now: NOW, expected }))).rule).toBe('kid-unknown');
    // Same kid as the provider's, other key material: the signature check catches it.
    const spoofed = await keySigner({ ...forger.signingKey, kid: provider.kid }).sign(
      RECEIPT_TYP,
      payloadBytes({ ...expected, auditSequence: '17', issuedAt: '2025-06-01T08:00:00Z' }),
    );
    const r = await refusal(verifyReceipt(spoofed, { keys: provider.jwks, now: NOW, expected }));
    expect(r.rule).toBe('signature');
  });

  it('names the consumer it was issued to: another consumer cannot use it', async () => {
    const provider = await newKey();
    const jws = await signReceipt(claims, provider.signer);
    const r = await refusal(
      verifyReceipt(jws, { keys: provider.jwks, now: NOW, expected: { ...expected, consumerNodeId: HEBEI } }),
    );
    expect(r.rule).toBe('consumer');
    expect(r.message).toContain(TIANJIN);
  });

  it.each([
    ['correlation-id', { correlationId: 'corr-43' }],
    ['request-hash', { requestHash: digest('another request') }],
    ['response-digest', { responseDigest: digest('another response') }],
    ['method', { method: '/citymesh.v1.CapabilityService/InvokeCapability' }],
    ['provider', { providerNodeId: HEBEI }],
  ])('refuses a receipt whose %s is not the expected one', async (rule, change) => {
    const provider = await newKey();
    const jws = await signReceipt(claims, provider.signer);
    const r = await refusal(
      verifyReceipt(jws, { keys: provider.jwks, now: NOW, expected: { ...expected, ...change } }),
    );
    expect(r.rule).toBe(rule);
  });

  it('refuses a checkpoint or another token kind presented as a receipt (typ)', async () => {
    const provider = await newKey();
    const checkpoint = await signCheckpoint(
      { sequence: 17, hash: digest('x'), nodeId: BEIJING, signedAt: NOW },
      provider.signer,
    );
    expect((await refusal(verifyReceipt(checkpoint.signature, { keys: provider.jwks, now: NOW, expected }))).rule).toBe(
      'typ',
    );
    const jwt = await provider.signer.sign('JWT', payloadBytes({ sub: TIANJIN }));
    expect((await refusal(verifyReceipt(jwt, { keys: provider.jwks, now: NOW, expected }))).rule).toBe('typ');
    expect(CHECKPOINT_TYP).not.toBe(RECEIPT_TYP);
  });

  it('refuses alg none and HS256 even with the right typ and kid', async () => {
    const provider = await newKey();
    const body = Buffer.from(
      canonicalize({ ...expected, auditSequence: '17', issuedAt: '2025-06-01T08:00:00Z' }),
    ).toString('base64url');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: provider.kid, typ: RECEIPT_TYP })).toString('base64url')}.${body}.`;
    expect((await refusal(verifyReceipt(none, { keys: provider.jwks, now: NOW, expected }))).rule).toBe(
      'alg-allowlist',
    );
    const hs = await new SignJWT({ ...expected })
      .setProtectedHeader({ alg: 'HS256', kid: provider.kid, typ: RECEIPT_TYP })
      .sign(new TextEncoder().encode('a shared secret that is long enough!'));
    expect((await refusal(verifyReceipt(hs, { keys: provider.jwks, now: NOW, expected }))).rule).toBe('alg-allowlist');
  });

  it('refuses a payload that is not canonical JSON, or has extra or missing members', async () => {
    const provider = await newKey();
    const members = { ...expected, auditSequence: '17', issuedAt: '2025-06-01T08:00:00Z' };
    const spaced = await provider.signer.sign(RECEIPT_TYP, new TextEncoder().encode(JSON.stringify(members, null, 1)));
    expect((await refusal(verifyReceipt(spaced, { keys: provider.jwks, now: NOW, expected }))).rule).toBe(
      'payload-canonical',
    );
    const extra = await provider.signer.sign(RECEIPT_TYP, payloadBytes({ ...members, note: 'x' }));
    expect((await refusal(verifyReceipt(extra, { keys: provider.jwks, now: NOW, expected }))).rule).toBe(
      'payload-members',
    );
    const { requestHash: _dropped, ...missing } = members;
    const short = await provider.signer.sign(RECEIPT_TYP, payloadBytes(missing));
    expect((await refusal(verifyReceipt(short, { keys: provider.jwks, now: NOW, expected }))).rule).toBe(
      'payload-members',
    );
  });

  it('refuses a tampered payload (signature no longer verifies)', async () => {
    const provider = await newKey();
    const [h, , s] = (await signReceipt(claims, provider.signer)).split('.');
    const forged = Buffer.from(
      canonicalize({ ...expected, auditSequence: '18', issuedAt: '2025-06-01T08:00:00Z' }),
    ).toString('base64url');
    expect(
      (await refusal(verifyReceipt(`${h}.${forged}.${s}`, { keys: provider.jwks, now: NOW, expected }))).rule,
    ).toBe('signature');
  });

  it('refuses a receipt issued in the future', async () => {
    const provider = await newKey();
    const jws = await signReceipt({ ...claims, issuedAt: new Date(NOW.getTime() + 3_600_000) }, provider.signer);
    expect((await refusal(verifyReceipt(jws, { keys: provider.jwks, now: NOW, expected }))).rule).toBe(
      'issued-at-future',
    );
  });
});
