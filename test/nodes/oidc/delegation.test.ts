import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { federationKeySigner, issueExchangeGrant } from '../../../nodes/exchange/index.js';
import {
  ACCESS_TOKEN_TYPE,
  EXCHANGE_GRANT_TOKEN_TYPE,
  JWT_BEARER_GRANT,
  TOKEN_EXCHANGE_GRANT,
} from '../../../nodes/oidc/delegation.js';
import {
  BEIJING_NODE,
  buildExchangePki,
  type ExchangePki,
  federationKey,
  metadataOf,
  TIANJIN_NODE,
} from '../exchange/fixtures.js';
import {
  appToken,
  authenticatedAs,
  type DelegationCity,
  keyPair,
  registerApp,
  startTwoCities,
  type TwoCities,
  tokenRequest,
} from './delegation-support.js';

const APP = 'spiffe://beijing.jjj.citymesh/app/planner';
const RESOURCE = 'jjj/tianjin/health-commission/clinics';

let pki: ExchangePki;
let cities: TwoCities;
let appKey: Awaited<ReturnType<typeof registerApp>>;
let dpopKey: Awaited<ReturnType<typeof keyPair>>;

beforeAll(async () => {
  pki = await buildExchangePki();
  cities = await startTwoCities(pki);
  appKey = await registerApp(cities.beijing, 'planner');
  dpopKey = await keyPair('dpop');
}, 60_000);

afterAll(async () => {
  await cities?.close();
});

/** Beijing's app exchanges its own access token for a grant to `audience`. */
async function exchange(overrides: Record<string, string> = {}, dpop: typeof dpopKey | null = dpopKey) {
  const subject = overrides['subject_token'] ?? (await appToken(cities.beijing, 'planner', appKey));
  return tokenRequest(
    cities.beijing,
    {
      grant_type: TOKEN_EXCHANGE_GRANT,
      ...(await authenticatedAs(cities.beijing, 'planner', appKey)),
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: EXCHANGE_GRANT_TOKEN_TYPE,
      audience: cities.tianjin.issuer,
      resource: RESOURCE,
      scope: 'read',
      purpose: 'traffic-planning',
      ...overrides,
      subject_token: subject,
    },
    dpop ?? undefined,
  );
}

/** The app presents `grant` at Tianjin's token endpoint, proving `dpop`. */
function jwtBearer(grant: string, dpop: typeof dpopKey | null = dpopKey, clientId = APP) {
  const form = { grant_type: JWT_BEARER_GRANT, client_id: clientId, assertion: grant };
  return tokenRequest(cities.tianjin, form, dpop ?? undefined);
}

/** A grant Beijing's node would sign, bound to `dpopKey`, changed by `changes`. */
async function handMadeGrant(changes: Record<string, unknown> = {}, now = new Date(), signer = beijingSigner()) {
  const request = {
    sub: APP,
    act: { sub: APP, act: { sub: BEIJING_NODE } },
    city: 'beijing',
    industry: 'transport',
    level: 'province' as const,
    purpose: 'traffic-planning',
    aud: TIANJIN_NODE,
    resource: RESOURCE,
    action: 'read' as const,
    cnf: { jkt: dpopKey.jkt },
    ...changes,
  };
  return (await issueExchangeGrant(signer, request, now)).token;
}

const beijingSigner = () => federationKeySigner(BEIJING_NODE, pki.beijingKey.signing);

async function jwksOf(city: DelegationCity) {
  return createLocalJWKSet((await (await city.fetch(`${city.issuer}/jwks`)).json()) as { keys: JWK[] });
}

function expectError(res: { status: number; body: Record<string, unknown> }, error: string, description: RegExp) {
  expect(res.body['error'], JSON.stringify(res.body)).toBe(error);
  expect(res.body['error_description']).toMatch(description);
}

describe('token exchange at the home city', () => {
  it('issues an exchange grant for the peer, bound to the DPoP key, with a nested act', async () => {
    const res = await exchange();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ issued_token_type: EXCHANGE_GRANT_TOKEN_TYPE, token_type: 'N_A' });
    const grant = res.body['access_token'] as string;
    expect(decodeProtectedHeader(grant)).toEqual({
      alg: 'ES256',
      kid: pki.beijingKey.signing.kid,
      typ: 'citymesh-exchange-grant+jwt',
    });
    const { payload } = await jwtVerify(grant, createLocalJWKSet({ keys: [pki.beijingKey.jwk as JWK] }));
    expect(payload).toMatchObject({
      iss: BEIJING_NODE,
      sub: APP,
      act: { sub: APP, act: { sub: BEIJING_NODE } },
      aud: TIANJIN_NODE,
      city: 'beijing',
      industry: 'transport',
      region: '110000',
      resource: RESOURCE,
      action: 'read',
      purpose: 'traffic-planning',
      cnf: { jkt: dpopKey.jkt },
    });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(60);
    expect(res.body['expires_in']).toBe(payload.exp! - payload.iat!);
  });

  it('accepts a peer node SPIFFE id as audience', async () => {
    const res = await exchange({ audience: TIANJIN_NODE });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(decodeJwt(res.body['access_token'] as string).aud).toBe(TIANJIN_NODE);
  });

  it('refuses an audience that is not a member, is this city, or is revoked (invalid_target)', async () => {
    expectError(await exchange({ audience: 'https://hebei.jjj.example' }), 'invalid_target', /not a member/);
    expectError(await exchange({ audience: cities.beijing.issuer }), 'invalid_target', /this city/);
    expectError(
      await exchange({ audience: 'spiffe://tianjin.jjj.citymesh/node/node-9' }),
      'invalid_target',
      /not a node of tianjin/,
    );
    const current = cities.metadata;
    try {
      cities.metadata = metadataOf(pki, {
        members: () => current.members.map((m) => ({ ...m })),
        revocations: [{ kind: 'city', id: 'tianjin' }],
      });
      expectError(await exchange(), 'invalid_target', /CITY_REVOKED.*tianjin is revoked/);
    } finally {
      cities.metadata = current;
    }
  });

  it('refuses a resource the audience does not own', async () => {
    expectError(await exchange({ resource: 'jjj/beijing/transport/roads' }), 'invalid_target', /not owned by tianjin/);
  });

  it('refuses a subject_token from another issuer (invalid_grant)', async () => {
    const tianjinKey = await registerApp(cities.tianjin, 'porter');
    const foreign = await appToken(cities.tianjin, 'porter', tianjinKey);
    expectError(
      await exchange({ subject_token: foreign }),
      'invalid_grant',
      /subject_token refused \(TOKEN_ISSUER_MISMATCH\)/,
    );
  });

  it('is only for apps registered to call other cities (clients add --cross-city)', async () => {
    const key = await registerApp(cities.beijing, 'homebody', false);
    const subject = await appToken(cities.beijing, 'homebody', key);
    const res = await tokenRequest(
      cities.beijing,
      {
        grant_type: TOKEN_EXCHANGE_GRANT,
        ...(await authenticatedAs(cities.beijing, 'homebody', key)),
        subject_token: subject,
        subject_token_type: ACCESS_TOKEN_TYPE,
        requested_token_type: EXCHANGE_GRANT_TOKEN_TYPE,
        audience: cities.tianjin.issuer,
        resource: RESOURCE,
        scope: 'read',
        purpose: 'traffic-planning',
      },
      dpopKey,
    );
    expectError(res, 'invalid_request', /grant type is not allowed for this client/);
  });

  it('refuses a request without a DPoP proof, a second actor, or a scope that is not one action', async () => {
    expectError(await exchange({}, null), 'invalid_request', /DPoP proof is required/);
    expectError(
      await exchange({ actor_token: 'x', actor_token_type: ACCESS_TOKEN_TYPE }),
      'invalid_request',
      /actor_token is not supported/,
    );
    expectError(await exchange({ scope: 'read invoke' }), 'invalid_scope', /exactly one action/);
  });
});

describe('JWT bearer at the peer city', () => {
  it('turns the grant into a DPoP-bound peer access token carrying the subject and act', async () => {
    const grant = (await exchange()).body['access_token'] as string;
    const res = await jwtBearer(grant);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'DPoP', expires_in: 60, scope: 'exchange' });
    const { payload, protectedHeader } = await jwtVerify(
      res.body['access_token'] as string,
      await jwksOf(cities.tianjin),
      {
        issuer: cities.tianjin.issuer,
        audience: `${cities.tianjin.issuer}/exchange`,
        typ: 'at+jwt',
        algorithms: ['ES256'],
      },
    );
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({
      sub: APP,
      client_id: APP,
      city: 'beijing',
      industry: 'transport',
      act: { sub: APP, act: { sub: BEIJING_NODE } },
      cnf: { jkt: dpopKey.jkt },
      exchange: { resource: RESOURCE, action: 'read', purpose: 'traffic-planning', grant_iss: BEIJING_NODE },
    });
    expect(payload.exp! - payload.iat!).toBe(60);
    expect(payload['org']).toBeUndefined();
  });

  it('refuses a replayed grant', async () => {
    const grant = (await exchange()).body['access_token'] as string;
    expect((await jwtBearer(grant)).status).toBe(200);
    expectError(await jwtBearer(grant), 'invalid_grant', /TOKEN_REPLAYED.*already used/);
  });

  it('refuses an expired grant', async () => {
    const grant = await handMadeGrant({}, new Date(Date.now() - 5 * 60_000));
    expectError(await jwtBearer(grant), 'invalid_grant', /TOKEN_EXPIRED/);
  });

  it('refuses a grant for another audience', async () => {
    const grant = await handMadeGrant({ aud: 'spiffe://beijing.jjj.citymesh/node/node-2' });
    expectError(await jwtBearer(grant), 'invalid_grant', /TOKEN_AUDIENCE_MISMATCH.*not spiffe:\/\/tianjin/);
  });

  it('refuses a grant signed by a key no member holds', async () => {
    const stranger = await federationKey();
    const grant = await handMadeGrant({}, new Date(), federationKeySigner(BEIJING_NODE, stranger.signing));
    expectError(await jwtBearer(grant), 'invalid_grant', /TOKEN_KEY_UNKNOWN/);
  });

  it('refuses a grant signed by another member city than iss names', async () => {
    const grant = await handMadeGrant({}, new Date(), federationKeySigner(BEIJING_NODE, pki.tianjinKey.signing));
    expectError(await jwtBearer(grant), 'invalid_grant', /iss names beijing, but a key of tianjin signed it/);
  });

  it('refuses a proof by another key, or no proof, without spending the grant', async () => {
    const grant = await handMadeGrant();
    expectError(
      await jwtBearer(grant, await keyPair('other')),
      'invalid_grant',
      /not signed by the key the exchange grant binds/,
    );
    expectError(await jwtBearer(grant, null), 'invalid_request', /DPoP proof/);
    expect((await jwtBearer(grant)).status).toBe(200);
  });

  it('refuses a grant without cnf (for node forwarding only) and one naming another actor', async () => {
    expectError(await jwtBearer(await handMadeGrant({ cnf: undefined })), 'invalid_grant', /not bound to a key/);
    const other = 'spiffe://beijing.jjj.citymesh/app/other';
    expectError(await jwtBearer(await handMadeGrant(), dpopKey, other), 'invalid_grant', /another actor/);
  });

  it('knows no client for its own apps, unknown cities or revoked cities', async () => {
    const grant = await handMadeGrant();
    expectError(await jwtBearer(grant, dpopKey, 'spiffe://tianjin.jjj.citymesh/app/planner'), 'invalid_client', /.+/);
    expectError(await jwtBearer(grant, dpopKey, 'spiffe://hebei.jjj.citymesh/app/planner'), 'invalid_client', /.+/);
    const current = cities.metadata;
    try {
      cities.metadata = metadataOf(pki, {
        members: () => current.members.map((m) => ({ ...m })),
        revocations: [{ kind: 'city', id: 'beijing' }],
      });
      expectError(await jwtBearer(grant), 'invalid_client', /.+/);
    } finally {
      cities.metadata = current;
    }
  });

  it('does not let a federated app use any other grant', async () => {
    const res = await tokenRequest(cities.tianjin, { grant_type: 'client_credentials', client_id: APP }, dpopKey);
    expectError(res, 'invalid_request', /not allowed for this client/);
  });
});
