import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import { federationKeySigner, MemoryReplayCache } from '../../../nodes/exchange/index.js';
import {
  type CityProvider,
  createCityProvider,
  type OidcStore,
  openMemoryOidcStore,
  registerClient,
} from '../../../nodes/oidc/index.js';
import { openMemoryStores } from '../../../stores/index.js';
import {
  type ClusterMetadataClaims,
  createClusterRootCa,
  exportPrivateKeyPem,
  generateEcKeyPair,
  issueTlsServerCert,
} from '../../../trust-anchor/index.js';
import { BEIJING_NODE, type ExchangePki, metadataOf } from '../exchange/fixtures.js';
import { APP_ATTRIBUTES, type TlsFetch } from './harness.js';

/** Beijing (home, token exchange) and Tianjin (peer, JWT bearer), each on its own HTTPS listener. */
export interface TwoCities {
  readonly beijing: DelegationCity;
  readonly tianjin: DelegationCity;
  /** The metadata both read; tests replace it to revoke. */
  metadata: ClusterMetadataClaims;
  close(): Promise<void>;
}

export interface DelegationCity {
  readonly name: string;
  readonly issuer: string;
  readonly provider: CityProvider;
  readonly store: OidcStore;
  readonly fetch: TlsFetch;
}

/** Where a city's token endpoint is and how to reach it over TLS. */
export type TokenEndpoint = Pick<DelegationCity, 'issuer' | 'fetch'>;

interface Listener {
  readonly server: Server;
  readonly issuer: string;
  setHandler(handler: CityProvider['handler']): void;
}

async function listen(rootPem: string, rootKeys: Awaited<ReturnType<typeof generateEcKeyPair>>): Promise<Listener> {
  const keys = await generateEcKeyPair();
  const cert = await issueTlsServerCert({
    issuerCertPem: rootPem,
    issuerKeys: rootKeys,
    now: new Date(),
    lifetimeHours: 1,
    publicKey: keys.publicKey,
    subjectCn: 'delegation test',
  });
  let handler: CityProvider['handler'] | undefined;
  const server = createServer({ key: await exportPrivateKeyPem(keys), cert: cert.pem, minVersion: 'TLSv1.3' }, (q, s) =>
    handler!(q, s),
  );
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
  return { server, issuer: `https://localhost:${port}`, setHandler: (h) => (handler = h) };
}

/** Two providers whose issuers are the entity ids of the fixture metadata's two members. */
export async function startTwoCities(pki: ExchangePki): Promise<TwoCities> {
  const rootKeys = await generateEcKeyPair();
  const root = await createClusterRootCa({ cluster: 'jjj', keys: rootKeys, now: new Date(), lifetimeDays: 1 });
  const agent = new Agent({ connect: { ca: root.pem } });
  const fetch: TlsFetch = (url, init) =>
    undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>;
  const [bj, tj] = [await listen(root.pem, rootKeys), await listen(root.pem, rootKeys)];
  const entity: Record<string, string> = { beijing: bj.issuer, tianjin: tj.issuer };
  const cluster: TwoCities = {
    metadata: metadataOf(pki, { members: (ms) => ms.map((m) => ({ ...m, entity_id: entity[m.city]! })) }),
  } as TwoCities;
  const metadata = () => cluster.metadata;

  const start = async (name: string, listener: Listener, delegation: object): Promise<DelegationCity> => {
    const store = openMemoryOidcStore();
    const provider = await createCityProvider({
      issuer: listener.issuer,
      city: name,
      keys: openMemoryStores().keys,
      store,
      resourceServers: { [`${listener.issuer}/exchange`]: { scope: 'exchange' } },
      delegation: { metadata, ...delegation },
    });
    listener.setHandler(provider.handler);
    return { name, issuer: listener.issuer, provider, store, fetch };
  };
  const beijing = await start('beijing', bj, {
    tokenExchange: { signer: federationKeySigner(BEIJING_NODE, pki.beijingKey.signing) },
  });
  const tianjin = await start('tianjin', tj, { jwtBearer: { replay: new MemoryReplayCache() } });
  return Object.assign(cluster, {
    beijing,
    tianjin,
    close: async () => {
      for (const { server } of [bj, tj]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      await agent.close();
      await beijing.store.close();
      await tianjin.store.close();
    },
  });
}

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

/** An app key pair (ES256) with its public JWK and RFC 7638 thumbprint. */
export async function keyPair(kid = 'es256-1'): Promise<KeyPair & { jwk: JWK; jkt: string }> {
  const pair = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid };
  return { ...pair, jwk, jkt: await calculateJwkThumbprint(jwk) };
}

/** Registers an app at `city` (opted in to cross-city calls unless told otherwise) and returns its key. */
export async function registerApp(city: Pick<DelegationCity, 'store'>, clientId: string, crossCity = true) {
  const key = await keyPair();
  await registerClient(
    city.store,
    { clientId, jwks: { keys: [key.jwk] }, attributes: APP_ATTRIBUTES, crossCity },
    new Date(),
  );
  return key;
}

/** A private_key_jwt client assertion (aud = the issuer, as the provider demands). */
export function clientAssertion(city: TokenEndpoint, clientId: string, key: KeyPair & { jwk: JWK }) {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: key.jwk.kid! })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(city.issuer)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(key.privateKey);
}

/** An RFC 9449 proof for a POST to `city`'s token endpoint. */
export function dpopProof(city: TokenEndpoint, key: KeyPair & { jwk: JWK }) {
  const { kid: _kid, ...jwk } = key.jwk;
  return new SignJWT({ htm: 'POST', htu: `${city.issuer}/token` })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
    .setJti(randomUUID())
    .setIssuedAt()
    .sign(key.privateKey);
}

export interface TokenResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** POSTs a form to `city`'s token endpoint, optionally with a DPoP proof by `dpop`. */
export async function tokenRequest(
  city: TokenEndpoint,
  form: Record<string, string>,
  dpop?: KeyPair & { jwk: JWK },
): Promise<TokenResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (dpop !== undefined) headers['dpop'] = await dpopProof(city, dpop);
  const res = await city.fetch(`${city.issuer}/token`, { method: 'POST', headers, body: new URLSearchParams(form) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Form fields authenticating `clientId` with private_key_jwt. */
export async function authenticatedAs(city: TokenEndpoint, clientId: string, key: KeyPair & { jwk: JWK }) {
  return {
    client_id: clientId,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await clientAssertion(city, clientId, key),
  };
}

/** A client_credentials token of `clientId` at `city` for its exchange resource. */
export async function appToken(
  city: TokenEndpoint,
  clientId: string,
  key: KeyPair & { jwk: JWK },
  dpop?: KeyPair & { jwk: JWK },
) {
  const res = await tokenRequest(
    city,
    {
      grant_type: 'client_credentials',
      resource: `${city.issuer}/exchange`,
      ...(await authenticatedAs(city, clientId, key)),
    },
    dpop,
  );
  if (res.status !== 200) throw new Error(`client_credentials failed: ${JSON.stringify(res.body)}`);
  return res.body['access_token'] as string;
}
