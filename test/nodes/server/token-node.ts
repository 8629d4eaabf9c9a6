import * as grpc from '@grpc/grpc-js';
import { type CryptoKey, exportJWK, generateKeyPair } from 'jose';
import * as client from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { joinCluster, type RunningNode, startNode, unaryCall } from '../../../nodes/index.js';
import { openNodeOidcStore, registerClient } from '../../../nodes/oidc/index.js';
import { NodeServiceClient } from '../../../proto/gen/citymesh/v1/node_service.js';
import { startTestAnchor, TempDirs, type TestAnchor } from '../../support/anchor-harness.js';
import { freePort } from './cluster-fixture.js';

/** One node with a real entity id on loopback, an app registered with its OpenID Provider. */
export interface TokenNode {
  readonly anchor: TestAnchor;
  readonly node: RunningNode;
  readonly entityId: string;
  /** fetch trusting the cluster root. */
  fetch(url: string): Promise<Response>;
  /** A client_credentials token for the exchange API; DPoP-bound to `dpopKeys` when given. */
  token(dpopKeys?: CryptoKeyPair): Promise<string>;
  /** NodeService/GetNodeStatus over TLS without a client certificate, with this metadata. */
  status(entries: Record<string, string>): Promise<{ city: string }>;
  stop(): Promise<void>;
}

type CryptoKeyPair = { publicKey: CryptoKey; privateKey: CryptoKey };

export async function startTokenNode(): Promise<TokenNode> {
  const dirs = new TempDirs();
  const anchor = await startTestAnchor();
  const { token: join } = await anchor.anchor.invite('beijing');
  const dir = dirs.make('citymesh-beijing-');
  const entityId = `https://localhost:${await freePort()}`;
  await joinCluster({
    dir,
    anchorUrl: anchor.server.url,
    token: join,
    nodeName: 'n1',
    entityId,
    grpcEndpoint: `localhost:${await freePort()}`,
    clock: anchor.clock,
  });
  const node = await startNode({ dir, clock: anchor.clock, refreshIntervalMs: 3_600_000 });
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
  const agent = new Agent({ connect: { ca: anchor.rootPem } });
  const tlsFetch = (url: string | URL, init?: RequestInit) =>
    undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>;
  return {
    anchor,
    node,
    entityId,
    fetch: (url) => tlsFetch(url),
    async token(dpopKeys) {
      const config = await client.discovery(
        new URL(entityId),
        'planner',
        { id_token_signed_response_alg: 'ES256' },
        client.PrivateKeyJwt({ key: keys.privateKey, kid: 'k1' }),
        { [client.customFetch]: tlsFetch as never },
      );
      const options = dpopKeys ? { DPoP: client.getDPoPHandle(config, dpopKeys) } : undefined;
      return (await client.clientCredentialsGrant(config, { resource: `${entityId}/exchange` }, options)).access_token;
    },
    status(entries) {
      const metadata = new grpc.Metadata();
      for (const [k, v] of Object.entries(entries)) metadata.set(k, v);
      const stub = new NodeServiceClient(
        node.context.identity.grpcEndpoint,
        grpc.credentials.createSsl(Buffer.from(anchor.rootPem), null, null, { checkServerIdentity: () => undefined }),
      );
      return unaryCall<{ city: string }>((cb) => stub.getNodeStatus({}, metadata, cb)).finally(() => stub.close());
    },
    async stop() {
      await agent.close();
      await node.stop();
      await anchor.stop();
      dirs.removeAll();
    },
  };
}
