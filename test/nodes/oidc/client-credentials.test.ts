import { randomUUID } from 'node:crypto';
import { base64url, calculateJwkThumbprint, exportJWK, SignJWT } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  discover,
  OTHER_RESOURCE,
  RESOURCE,
  registerApp,
  startCity,
  type TestCity,
  verifyAccessToken,
} from './harness.js';

/**
 * Apps at the city's provider, driven by openid-client (a client nobody here wrote):
 * discovery, client_credentials with private_key_jwt, RFC 9068 tokens, DPoP, and the
 * lock-down: no `none`, no HS*, no `alg: none`, `aud` exactly the issuer.
 */

let city: TestCity;
let app: Awaited<ReturnType<typeof registerApp>>;
let tokenEndpoint: string;

beforeAll(async () => {
  city = await startCity({
    [RESOURCE]: { scope: 'datasets:read datasets:write' },
    [OTHER_RESOURCE]: { scope: 'devices:read' },
  });
  app = await registerApp(city, { clientId: 'planner' });
  tokenEndpoint = `${city.issuer}/token`;
});

afterAll(async () => {
  await city.close();
});

/** A raw token request: what a hostile or sloppy client sends, bypassing openid-client. */
async function tokenRequest(
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await city.fetch(tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: RESOURCE, ...params }).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function assertionClaims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { iss: 'planner', sub: 'planner', aud: city.issuer, jti: randomUUID(), iat: now, exp: now + 60, ...overrides };
}

async function signedAssertion(overrides: Record<string, unknown> = {}, key = app.privateKey, kid = 'es256-1') {
  return new SignJWT(assertionClaims(overrides)).setProtectedHeader({ alg: 'ES256', kid }).sign(key);
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe('discovery', () => {
  it('publishes only what is switched on, with pinned algorithms', async () => {
    const config = await discover(city, 'planner', app.privateKey, 'es256-1');
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(city.issuer);
    expect(meta.token_endpoint_auth_methods_supported).toEqual(['private_key_jwt']);
    expect(meta.token_endpoint_auth_signing_alg_values_supported).toEqual(['ES256', 'EdDSA', 'Ed25519']);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.response_types_supported).toEqual(['code']);
    expect(meta.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'client_credentials', 'refresh_token']),
    );
    expect(meta.grant_types_supported).not.toContain('implicit');
    expect(meta.id_token_signing_alg_values_supported).toEqual(['ES256']);
    expect(meta.dpop_signing_alg_values_supported).toEqual(['ES256', 'EdDSA', 'Ed25519']);
    expect(meta.userinfo_endpoint).toBeUndefined();
    expect(meta.registration_endpoint).toBeUndefined();
    const jwks = (await (await city.fetch(meta.jwks_uri!)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key['d']).toBeUndefined();
    }
  });
});

describe('client_credentials with private_key_jwt', () => {
  it('issues an RFC 9068 at+jwt for exactly the requested resource, carrying the app attributes', async () => {
    const config = await discover(city, 'planner', app.privateKey, 'es256-1');
    const tokens = await client.clientCredentialsGrant(config, { resource: RESOURCE, scope: 'datasets:read' });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.expires_in).toBeLessThanOrEqual(600);
    expect(tokens.expires_in).toBeGreaterThanOrEqual(290);
    const { payload, protectedHeader } = await verifyAccessToken(city, tokens.access_token);
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(payload).toMatchObject({
      iss: city.issuer,
      aud: RESOURCE,
      sub: 'planner',
      client_id: 'planner',
      scope: 'datasets:read',
      org: 'planning-bureau',
      industry: 'transport',
      region: '110000',
      level: 'province',
      roles: ['planner'],
      city: 'beijing',
    });
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(600);
  });

  it('an Ed25519 app authenticates with EdDSA', async () => {
    const ed = await registerApp(city, { clientId: 'sensor-hub', alg: 'EdDSA' });
    const config = await discover(city, 'sensor-hub', ed.privateKey, 'eddsa-1');
    const tokens = await client.clientCredentialsGrant(config, { resource: OTHER_RESOURCE });
    const { payload } = await verifyAccessToken(city, tokens.access_token, OTHER_RESOURCE);
    expect(payload['aud']).toBe(OTHER_RESOURCE);
  });

  it('binds a DPoP token to the proof key (cnf.jkt)', async () => {
    const config = await discover(city, 'planner', app.privateKey, 'es256-1');
    const dpopKeys = await client.randomDPoPKeyPair('ES256');
    const DPoP = client.getDPoPHandle(config, dpopKeys);
    const tokens = await client.clientCredentialsGrant(config, { resource: RESOURCE }, { DPoP });
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    const { payload } = await verifyAccessToken(city, tokens.access_token);
    const jkt = await calculateJwkThumbprint(await exportJWK(dpopKeys.publicKey));
    expect(payload['cnf']).toEqual({ jkt });
  });

  it('refuses a request with more than one or an unknown resource, or none when several exist', async () => {
    const config = await discover(city, 'planner', app.privateKey, 'es256-1');
    await expect(
      client.clientCredentialsGrant(config, { resource: 'https://elsewhere.test/api' }),
    ).rejects.toMatchObject({ error: 'invalid_target' });
    const both = new URLSearchParams([
      ['resource', RESOURCE],
      ['resource', OTHER_RESOURCE],
    ]);
    await expect(client.clientCredentialsGrant(config, both)).rejects.toMatchObject({ error: 'invalid_target' });
    await expect(client.clientCredentialsGrant(config, {})).rejects.toMatchObject({ error: 'invalid_target' });
  });
});

describe('lock-down', () => {
  it('refuses client authentication `none` (client_id alone)', async () => {
    const res = await tokenRequest({ client_id: 'planner' });
    expect(res.status).toBe(401);
    expect(res.body['error']).toBe('invalid_client');
  });

  it('refuses a client secret (basic or post)', async () => {
    const res = await tokenRequest({ client_id: 'planner', client_secret: 'guess' });
    expect(res.body['error']).toBe('invalid_client');
  });

  it('refuses an HS256 client assertion, even one keyed with the public key bytes', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(app.jwk));
    const assertion = await new SignJWT(assertionClaims()).setProtectedHeader({ alg: 'HS256' }).sign(secret);
    const res = await tokenRequest({ client_assertion: assertion, client_assertion_type: ASSERTION_TYPE });
    expect(res.status).toBe(401);
    expect(res.body['error']).toBe('invalid_client');
  });

  it('refuses an unsigned (alg: none) client assertion', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none' }));
    const body = base64url.encode(JSON.stringify(assertionClaims()));
    const res = await tokenRequest({ client_assertion: `${header}.${body}.`, client_assertion_type: ASSERTION_TYPE });
    expect(res.status).toBe(401);
    expect(res.body['error']).toBe('invalid_client');
  });

  it('refuses an assertion whose audience is not exactly the issuer', async () => {
    for (const aud of [tokenEndpoint, 'https://tianjin.jjj.test', [city.issuer, 'https://tianjin.jjj.test']]) {
      const res = await tokenRequest({
        client_assertion: await signedAssertion({ aud }),
        client_assertion_type: ASSERTION_TYPE,
      });
      expect(res.status, JSON.stringify(aud)).toBe(401);
      expect(res.body['error']).toBe('invalid_client');
    }
  });

  it('accepts a well-formed assertion once, and refuses its replay', async () => {
    const assertion = await signedAssertion();
    const first = await tokenRequest({ client_assertion: assertion, client_assertion_type: ASSERTION_TYPE });
    expect(first.status).toBe(200);
    const again = await tokenRequest({ client_assertion: assertion, client_assertion_type: ASSERTION_TYPE });
    expect(again.status).toBe(401);
  });

  it('refuses an assertion signed by a key the app did not register', async () => {
    const stranger = await registerApp(city, { clientId: 'stranger' });
    const res = await tokenRequest({
      client_assertion: await signedAssertion({}, stranger.privateKey),
      client_assertion_type: ASSERTION_TYPE,
    });
    expect(res.body['error']).toBe('invalid_client');
  });

  it('refuses the login flow for a machine-only app', async () => {
    const url = new URL(`${city.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: 'planner',
      response_type: 'code',
      scope: 'openid',
      redirect_uri: 'https://planner.beijing.test/callback',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();
    const res = await city.fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/redirect_uri|unauthorized_client|response_type/);
  });
});
