import { get } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinCluster, type RunningNode, startNode } from '../../../nodes/index.js';
import {
  generateEcKeyPair,
  type JwkSet,
  RESOLVE_RESPONSE_TYP,
  type ResolveResponseClaims,
  signEntityStatement,
  verifyEntityStatement,
  verifyJws,
} from '../../../trust-anchor/index.js';
import {
  ANCHOR_ENTITY_ID,
  codeOf,
  httpsCall,
  startTestAnchor,
  TempDirs,
  type TestAnchor,
} from '../../support/anchor-harness.js';
import { freePort } from './cluster-fixture.js';

const dirs = new TempDirs();
let t: TestAnchor;
let node: RunningNode;
let entityId: string;

function fetchText(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

beforeAll(async () => {
  t = await startTestAnchor();
  const { token } = await t.anchor.invite('beijing');
  const dir = dirs.make('citymesh-beijing-');
  entityId = `https://localhost:${await freePort()}`;
  await joinCluster({
    dir,
    anchorUrl: t.server.url,
    token,
    nodeName: 'n1',
    entityId,
    grpcEndpoint: `localhost:${await freePort()}`,
    clock: t.clock,
  });
  node = await startNode({ dir, clock: t.clock, refreshIntervalMs: 3_600_000 });
});

afterAll(async () => {
  await node?.stop();
  await t?.stop();
  dirs.removeAll();
});

describe("a city node's federation endpoint", () => {
  it('serves its self-signed entity configuration naming the anchor, over TLS with its SVID', async () => {
    expect(node.httpsUrl).toBe(entityId);
    const res = await fetchText(`${entityId}/.well-known/openid-federation`, t.rootPem);
    expect(res.status).toBe(200);
    const { decodeJwt } = await import('jose');
    const claims = decodeJwt(res.body) as { jwks: JwkSet; authority_hints: string[] };
    const verified = await verifyEntityStatement(res.body, {
      keys: claims.jwks,
      now: t.clock.nowSeconds(),
      expectedIss: entityId,
      expectedSub: entityId,
    });
    expect(verified.entityConfiguration).toBe(true);
    expect(verified.claims.authority_hints).toEqual([ANCHOR_ENTITY_ID]);
  });
});

describe("the anchor's resolve endpoint", () => {
  const anchorKeys = async (): Promise<JwkSet> => {
    const { decodeJwt } = await import('jose');
    return (decodeJwt(await t.anchor.entityConfiguration()) as { jwks: JwkSet }).jwks;
  };

  it('resolves a member: chain of three, metadata with what the anchor vouches for, signed by the anchor', async () => {
    const res = await httpsCall(
      t,
      `/resolve?sub=${encodeURIComponent(entityId)}&trust_anchor=${encodeURIComponent(ANCHOR_ENTITY_ID)}`,
    );
    expect(res.status, res.body).toBe(200);
    expect(res.contentType).toBe('application/resolve-response+jwt');
    const verified = await verifyJws(res.body, {
      expectedTyp: RESOLVE_RESPONSE_TYP,
      keys: await anchorKeys(),
      now: t.clock.nowSeconds(),
    });
    const claims = verified.payload as unknown as ResolveResponseClaims;
    expect(claims).toMatchObject({ iss: ANCHOR_ENTITY_ID, sub: entityId });
    expect(claims.trust_chain).toHaveLength(3);
    // The city's OpenID Provider keys come with the chain, vouched for by the anchor.
    const op = claims.metadata['openid_provider'] as { issuer: string; jwks: JwkSet } | undefined;
    expect(op?.issuer).toBe(entityId);
    expect(op?.jwks.keys.length).toBeGreaterThan(0);
    expect(op?.jwks.keys.every((k) => !('d' in k))).toBe(true);
    const node = claims.metadata.citymesh_node!;
    expect(node).toMatchObject({ city: 'beijing', trust_domain: 'beijing.jjj.citymesh', https_endpoint: entityId });
    expect(node.ca_certificates.length).toBeGreaterThan(0);
  });

  it('filters by entity type', async () => {
    const resolved = await t.anchor.resolve(entityId, { entityTypes: ['federation_entity'] });
    const { decodeJwt } = await import('jose');
    expect(Object.keys((decodeJwt(resolved.jwt) as ResolveResponseClaims).metadata)).toEqual([]);
  });

  it('refuses an entity configuration signed with a key the anchor never vouched for', async () => {
    const forger = await generateEcKeyPair();
    const { exportPublicJwk } = await import('../../../trust-anchor/index.js');
    const jwk = await exportPublicJwk(forger.publicKey);
    const now = t.clock.nowSeconds();
    const forged = await signEntityStatement(
      {
        iss: entityId,
        sub: entityId,
        iat: now,
        exp: now + 600,
        jwks: { keys: [jwk] },
        authority_hints: [ANCHOR_ENTITY_ID],
      },
      { kid: forger.kid, privateKey: forger.privateKey, alg: 'ES256' },
    );
    expect(await codeOf(t.anchor.resolve(entityId, { fetch: async () => forged }))).toBe('TOKEN_KEY_UNKNOWN');
  });

  it('refuses an unknown entity and, once revoked, the city', async () => {
    const unknown = await httpsCall(t, `/resolve?sub=${encodeURIComponent('https://nowhere.example')}`);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ reason: 'MEMBER_NOT_FOUND' });
    const other = await httpsCall(
      t,
      `/resolve?sub=${encodeURIComponent(entityId)}&trust_anchor=https%3A%2F%2Fother.example`,
    );
    expect(JSON.parse(other.body)).toMatchObject({ reason: 'TRUST_CHAIN_INVALID' });
    await t.anchor.revoke('city', 'beijing', 'test');
    const revoked = await httpsCall(t, `/resolve?sub=${encodeURIComponent(entityId)}`);
    expect(revoked.status).toBe(403);
    expect(JSON.parse(revoked.body)).toMatchObject({ reason: 'CITY_REVOKED' });
  });
});

describe("the city's OpenID Provider on the node's HTTPS listener", () => {
  it('discovers with issuer = the entity id and issues an app an at+jwt for the exchange API', async () => {
    const { Agent, fetch: undiciFetch } = await import('undici');
    const client = await import('openid-client');
    const { generateKeyPair, exportJWK, decodeJwt, decodeProtectedHeader } = await import('jose');
    const { openNodeOidcStore, registerClient } = await import('../../../nodes/oidc/index.js');
    const agent = new Agent({ connect: { ca: t.rootPem } });
    const tlsFetch = (url: string | URL, init?: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>;
    try {
      const keys = await generateKeyPair('ES256', { extractable: true });
      const store = openNodeOidcStore(node.context.dir);
      try {
        await registerClient(
          store,
          {
            clientId: 'route-planner',
            jwks: { keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1' }] },
            attributes: { org: 'planning-bureau', industry: 'transport', region: '110000', roles: [] },
          },
          new Date(),
        );
      } finally {
        await store.close();
      }
      const config = await client.discovery(
        new URL(entityId),
        'route-planner',
        { id_token_signed_response_alg: 'ES256' },
        client.PrivateKeyJwt({ key: keys.privateKey, kid: 'k1' }),
        { [client.customFetch]: tlsFetch as never },
      );
      expect(config.serverMetadata().issuer).toBe(entityId);
      const tokens = await client.clientCredentialsGrant(config, { resource: `${entityId}/exchange` });
      expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
      expect(decodeJwt(tokens.access_token)).toMatchObject({
        iss: entityId,
        aud: `${entityId}/exchange`,
        city: 'beijing',
        industry: 'transport',
      });
      // The federation endpoint is still served beside the provider.
      expect((await fetchText(`${entityId}/.well-known/openid-federation`, t.rootPem)).status).toBe(200);

      // The token opens the node's gRPC API to an app without a client certificate.
      const grpc = await import('@grpc/grpc-js');
      const { NodeServiceClient } = await import('../../../proto/gen/citymesh/v1/node_service.js');
      const { unaryCall } = await import('../../../nodes/index.js');
      const status = (token: string | undefined) => {
        const metadata = new grpc.Metadata();
        if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
        const stub = new NodeServiceClient(
          node.context.identity.grpcEndpoint,
          grpc.credentials.createSsl(Buffer.from(t.rootPem), null, null, { checkServerIdentity: () => undefined }),
        );
        return unaryCall<{ city: string }>((cb) => stub.getNodeStatus({}, metadata, cb)).finally(() => stub.close());
      };
      expect((await status(tokens.access_token)).city).toBe('beijing');
      expect(await codeOf(status(undefined))).toBe('CREDENTIALS_MISSING');
      const [h, , sig] = tokens.access_token.split('.');
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(tokens.access_token), roles: ['auditor'] })).toString('base64url')}.${sig}`;
      expect(await codeOf(status(forged))).toBe('TOKEN_SIGNATURE_INVALID');

      // RFC 8725 attacks through the real gRPC layer, each refused with its own reason.
      const claims = decodeJwt(tokens.access_token);
      const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const header = decodeProtectedHeader(tokens.access_token);
      const { SignJWT } = await import('jose');
      const { activeKey, signingKey } = await import('../../../trust-anchor/index.js');
      const oidcKey = signingKey(await activeKey(node.context.stores.keys, 'oidc'));
      const resign = (payload: object, head: object = {}) =>
        new SignJWT(payload as never)
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: oidcKey.kid, ...head })
          .sign(oidcKey.privateKey, { crit: { 'x-citymesh-test': true } });
      const now = Math.floor(Date.now() / 1000);
      expect(await codeOf(status(`${b64({ ...header, alg: 'none' })}.${b64(claims)}.`))).toBe('TOKEN_ALG_NOT_ALLOWED');
      expect(await codeOf(status(`${b64({ ...header, alg: 'NoNe' })}.${b64(claims)}.${sig}`))).toBe(
        'TOKEN_ALG_NOT_ALLOWED',
      );
      expect(await codeOf(status(await resign({ ...claims, iat: now - 900, exp: now - 600 })))).toBe('TOKEN_EXPIRED');
      expect(await codeOf(status(await resign({ ...claims, nbf: now + 600 })))).toBe('TOKEN_NOT_YET_VALID');
      expect(await codeOf(status(await resign({ ...claims, iss: 'https://tianjin.example' })))).toBe(
        'TOKEN_ISSUER_MISMATCH',
      );
      expect(await codeOf(status(await resign({ ...claims, aud: 'https://elsewhere.example/exchange' })))).toBe(
        'TOKEN_AUDIENCE_MISMATCH',
      );
      expect(await codeOf(status(await resign(claims, { jku: 'https://evil.example/jwks' })))).toBe(
        'TOKEN_HEADER_INJECTION',
      );
      expect(await codeOf(status(await resign(claims, { typ: 'JWT' })))).toBe('TOKEN_TYPE_MISMATCH');
      expect(await codeOf(status(await resign(claims, { crit: ['x-citymesh-test'], 'x-citymesh-test': 1 })))).toBe(
        'TOKEN_CRIT_UNSUPPORTED',
      );
      expect(await codeOf(status(await resign(claims, { kid: 'unknown-kid' })))).toBe('TOKEN_KEY_UNKNOWN');
      expect(await codeOf(status(`${'a'.repeat(9000)}.${'b'.repeat(10)}.c`))).toBe('TOKEN_TOO_LARGE');
      // The anchor revoked Beijing above; once the node holds that metadata its own tokens stop working.
      await node.refresh();
      expect(await codeOf(status(tokens.access_token))).toBe('CITY_REVOKED');
    } finally {
      await agent.close();
    }
  });
});
