import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../common/clock.js';
import { oidcSigningJwks, openSqliteOidcStore } from '../../../nodes/oidc/index.js';
import { createKey } from '../../../trust-anchor/index.js';
import { discover, RESOURCE, registerApp, startCity, type TestCity, verifyAccessToken } from './harness.js';

/** The provider on the node's SQLite file (as `node serve` will run it), and its signing keys. */

const dir = mkdtempSync(join(tmpdir(), 'citymesh-oidc-sqlite-'));
let city: TestCity;

beforeAll(async () => {
  city = await startCity(undefined, openSqliteOidcStore(join(dir, 'node.db')));
});

afterAll(async () => {
  await city.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('provider on SQLite', () => {
  it('issues DPoP-bound client_credentials tokens and detects assertion replay through the table adapter', async () => {
    const app = await registerApp(city, { clientId: 'planner' });
    const config = await discover(city, 'planner', app.privateKey, 'es256-1');
    const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    const tokens = await client.clientCredentialsGrant(config, { resource: RESOURCE }, { DPoP });
    const { payload } = await verifyAccessToken(city, tokens.access_token);
    expect(payload).toMatchObject({ aud: RESOURCE, org: 'planning-bureau', cnf: { jkt: expect.any(String) } });
  });
});

describe('oidcSigningJwks', () => {
  it('creates an active oidc key once, signs with the newest active key and publishes next keys', async () => {
    const first = await oidcSigningJwks(city.stores.keys, systemClock);
    const again = await oidcSigningJwks(city.stores.keys, systemClock);
    expect(again.keys.map((k) => k.kid)).toEqual(first.keys.map((k) => k.kid));
    const next = await createKey(city.stores.keys, { purpose: 'oidc', status: 'next', now: new Date() });
    const jwks = await oidcSigningJwks(city.stores.keys, systemClock);
    expect(jwks.keys.map((k) => k.kid)).toEqual([first.keys[0]!.kid, next.stored.kid]);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
  });
});
