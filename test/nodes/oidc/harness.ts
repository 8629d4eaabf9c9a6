import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, type JWTPayload, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Stores } from '../../../common/stores/index.js';
import {
  type CityProvider,
  createAccount,
  createCityProvider,
  type OidcStore,
  openMemoryOidcStore,
  registerClient,
} from '../../../nodes/oidc/index.js';
import { openMemoryStores } from '../../../stores/index.js';
import {
  createClusterRootCa,
  exportPrivateKeyPem,
  generateEcKeyPair,
  issueTlsServerCert,
} from '../../../trust-anchor/index.js';

export const RESOURCE = 'https://api.beijing.test/exchange';
export const OTHER_RESOURCE = 'https://api.beijing.test/devices';
export const REDIRECT_URI = 'https://planner.beijing.test/callback';
export const PASSWORD = 'correct horse battery staple';
export const APP_ATTRIBUTES = { org: 'planning-bureau', industry: 'transport', region: '110000', roles: ['planner'] };
export const PERSON_ATTRIBUTES = {
  org: 'data-office',
  industry: 'government',
  region: '110105',
  roles: ['data-steward', 'analyst'],
};

export type TlsFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** One city's provider on a real HTTPS listener on loopback, with a throwaway CA the client trusts. */
export interface TestCity {
  readonly issuer: string;
  readonly city: CityProvider;
  readonly store: OidcStore;
  readonly stores: Stores;
  /** fetch that trusts the throwaway CA (and only it). */
  readonly fetch: TlsFetch;
  close(): Promise<void>;
}

export async function startCity(
  resourceServers: Record<string, { scope: string }> = { [RESOURCE]: { scope: 'datasets:read datasets:write' } },
  store: OidcStore = openMemoryOidcStore(),
): Promise<TestCity> {
  const now = new Date();
  const rootKeys = await generateEcKeyPair();
  const root = await createClusterRootCa({ cluster: 'jjj', keys: rootKeys, now, lifetimeDays: 1 });
  const serverKeys = await generateEcKeyPair();
  const cert = await issueTlsServerCert({
    issuerCertPem: root.pem,
    issuerKeys: rootKeys,
    now,
    lifetimeHours: 1,
    publicKey: serverKeys.publicKey,
    subjectCn: 'beijing oidc test',
  });
  let handler: CityProvider['handler'] | undefined;
  const server: Server = createServer(
    { key: await exportPrivateKeyPem(serverKeys), cert: cert.pem, minVersion: 'TLSv1.3' },
    (req, res) => handler!(req, res),
  );
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
  const issuer = `https://localhost:${port}`;
  const stores = openMemoryStores();
  const city = await createCityProvider({ issuer, city: 'beijing', keys: stores.keys, store, resourceServers });
  handler = city.handler;
  const agent = new Agent({ connect: { ca: root.pem } });
  const fetch: TlsFetch = (url, init) =>
    undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>;
  return {
    issuer,
    city,
    store,
    stores,
    fetch,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await agent.close();
      await store.close();
    },
  };
}

type AppPrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/** An app's key pair: the private key stays with the test, the public JWK is registered. */
export async function appKeys(alg: 'ES256' | 'EdDSA' = 'ES256') {
  const pair = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: `${alg.toLowerCase()}-1` };
  return { ...pair, jwk };
}

export async function registerApp(
  city: TestCity,
  opts: { clientId: string; login?: boolean; alg?: 'ES256' | 'EdDSA' },
) {
  const keys = await appKeys(opts.alg);
  await registerClient(
    city.store,
    {
      clientId: opts.clientId,
      jwks: { keys: [keys.jwk] },
      attributes: APP_ATTRIBUTES,
      ...(opts.login ? { redirectUris: [REDIRECT_URI] } : {}),
    },
    new Date(),
  );
  return keys;
}

export async function addPerson(city: TestCity, username = 'li.wei') {
  return createAccount(city.store, { username, password: PASSWORD, attributes: PERSON_ATTRIBUTES }, new Date());
}

/** openid-client, configured by discovery, authenticating with private_key_jwt. */
export async function discover(city: TestCity, clientId: string, privateKey: AppPrivateKey, kid: string) {
  return client.discovery(
    new URL(city.issuer),
    clientId,
    { id_token_signed_response_alg: 'ES256' },
    client.PrivateKeyJwt({ key: privateKey, kid }),
    { [client.customFetch]: city.fetch as never },
  );
}

/** Verifies a JWT access token against the provider's published keys, as a resource server would. */
export async function verifyAccessToken(city: TestCity, token: string, audience = RESOURCE) {
  const meta = (await (await city.fetch(`${city.issuer}/.well-known/openid-configuration`)).json()) as {
    jwks_uri: string;
  };
  const jwks = (await (await city.fetch(meta.jwks_uri)).json()) as { keys: JWK[] };
  return jwtVerify<JWTPayload & Record<string, unknown>>(token, createLocalJWKSet(jwks), {
    issuer: city.issuer,
    audience,
    typ: 'at+jwt',
    algorithms: ['ES256'],
  });
}
