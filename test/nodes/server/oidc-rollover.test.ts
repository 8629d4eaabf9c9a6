import * as grpc from '@grpc/grpc-js';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import * as client from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinCluster, type RunningNode, startNode, unaryCall } from '../../../nodes/index.js';
import { openNodeOidcStore, registerClient } from '../../../nodes/oidc/index.js';
import { rotateOidcKey } from '../../../nodes/oidc/key-rollover.js';
import { NodeServiceClient } from '../../../proto/gen/citymesh/v1/node_service.js';
import { codeOf, startTestAnchor, TempDirs, type TestAnchor } from '../../support/anchor-harness.js';
import { freePort } from './cluster-fixture.js';

const dirs = new TempDirs();
let t: TestAnchor;
let node: RunningNode;
let entityId: string;
let agent: Agent;
let token: () => Promise<string>;

function callStatus(accessToken: string): Promise<{ city: string }> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${accessToken}`);
  const stub = new NodeServiceClient(
    node.context.identity.grpcEndpoint,
    grpc.credentials.createSsl(Buffer.from(t.rootPem), null, null, { checkServerIdentity: () => undefined }),
  );
  return unaryCall<{ city: string }>((cb) => stub.getNodeStatus({}, metadata, cb)).finally(() => stub.close());
}

beforeAll(async () => {
  t = await startTestAnchor();
  const { token: join } = await t.anchor.invite('beijing');
  const dir = dirs.make('citymesh-beijing-');
  entityId = `https://localhost:${await freePort()}`;
  await joinCluster({
    dir,
    anchorUrl: t.server.url,
    token: join,
    nodeName: 'n1',
    entityId,
    grpcEndpoint: `localhost:${await freePort()}`,
    clock: t.clock,
  });
  node = await startNode({ dir, clock: t.clock, refreshIntervalMs: 3_600_000 });
  const keys = await generateKeyPair('ES256', { extractable: true });
  const store = openNodeOidcStore(dir);
  await registerClient(
    store,
    {
      clientId: 'planner',
      jwks: { keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1' }] },
      attributes: { org: 'planning-bureau', industry: 'transport', region: '110000', roles: [] },
    },
    new Date(),
  );
  await store.close();
  agent = new Agent({ connect: { ca: t.rootPem } });
  const tlsFetch = (url: string | URL, init?: RequestInit) =>
    undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>;
  token = async () => {
    const config = await client.discovery(
      new URL(entityId),
      'planner',
      { id_token_signed_response_alg: 'ES256' },
      client.PrivateKeyJwt({ key: keys.privateKey, kid: 'k1' }),
      { [client.customFetch]: tlsFetch as never },
    );
    return (await client.clientCredentialsGrant(config, { resource: `${entityId}/exchange` })).access_token;
  };
});

afterAll(async () => {
  await agent?.close();
  await node?.stop();
  await t?.stop();
  dirs.removeAll();
});

describe('two-stage rollover of the city OIDC key in a running node', () => {
  it('publishes, then activates, with every token issued on the way still accepted', async () => {
    const keys = node.context.stores.keys;
    const before = await token();
    const oldKid = decodeProtectedHeader(before).kid;

    const published = await rotateOidcKey(keys, 'publish', t.clock.now());
    expect(await node.reloadOidc()).toBe(true);
    const duringOverlap = await token();
    expect(decodeProtectedHeader(duringOverlap).kid).toBe(oldKid);
    const jwks = (await (await undiciFetch(`${entityId}/jwks`, { dispatcher: agent })).json()) as {
      keys: { kid: string }[];
    };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([oldKid, published.kid].sort());

    expect(await codeOf(rotateOidcKey(keys, 'activate', t.clock.now()))).toBe('ROLLOVER_TOO_EARLY');
    // An hour later (the operator's clock; the node's stays, as TLS reads the wall clock).
    await rotateOidcKey(keys, 'activate', new Date(t.clock.nowMs() + 3600_000));
    expect(await node.reloadOidc()).toBe(true);
    const after = await token();
    expect(decodeProtectedHeader(after).kid).toBe(published.kid);
    expect(decodeJwt(after).iss).toBe(entityId);

    for (const accessToken of [before, duringOverlap, after])
      expect((await callStatus(accessToken)).city).toBe('beijing');
    expect(await node.reloadOidc()).toBe(false);
  });
});
