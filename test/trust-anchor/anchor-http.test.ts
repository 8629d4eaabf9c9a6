import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeIdentity, nodePath, TrustState } from '../../nodes/index.js';
import { readNodeFile } from '../../nodes/trust/node-files.js';
import { openSqliteStores } from '../../stores/index.js';
import {
  activeKey,
  type EntityStatementClaims,
  exportPublicJwk,
  type FederationSigningKey,
  formatJoinToken,
  generateEcKeyPair,
  type JwkSet,
  parseJoinToken,
  signEntityStatement,
  signingKey,
  verifyEntityStatement,
  verifyTrustChain,
} from '../../trust-anchor/index.js';
import {
  ANCHOR_ENTITY_ID,
  cityEntityIdOf,
  codeOf,
  httpsCall,
  joinCity,
  latestVersion,
  startTestAnchor,
  TempDirs,
  type TestAnchor,
} from '../support/anchor-harness.js';

const dirs = new TempDirs();
let t: TestAnchor;
let beijing: { dir: string; identity: NodeIdentity };

beforeAll(async () => {
  t = await startTestAnchor();
  beijing = await joinCity(t, dirs, 'beijing');
});
afterAll(async () => {
  await t.stop();
  dirs.removeAll();
});

/** The anchor keys the joined node pins. */
const pins = (): JwkSet => JSON.parse(readNodeFile(beijing.dir, 'pins')) as JwkSet;

/** An error body of the anchor, parsed. */
function errorBody(body: string): { error: string; error_description: string; reason: string } {
  return JSON.parse(body) as { error: string; error_description: string; reason: string };
}

/** A well-formed EnrolRequest (proto3 JSON) whose token has a forged secret. */
async function forgedEnrolRequest(padding = ''): Promise<Record<string, string>> {
  const { token } = await t.anchor.invite('tianjin');
  return {
    joinToken: formatJoinToken({ ...parseJoinToken(token), secret: randomBytes(32).toString('base64url') }),
    city: 'tianjin',
    nodeName: 'n1',
    caCsrPem: `-----BEGIN CERTIFICATE REQUEST-----\n${padding}\n-----END CERTIFICATE REQUEST-----\n`,
    entityId: cityEntityIdOf('tianjin'),
    federationJwks: JSON.stringify({ keys: [] }),
    endpoint: 'tianjin.example:7443',
  };
}

describe('anchor HTTPS binding: refusals', () => {
  it.each([
    ['GET', '/no-such-endpoint'],
    ['POST', '/fetch'],
    ['GET', '/enrol'],
  ] as const)('answers %s %s with 501 NOT_IMPLEMENTED', async (method, path) => {
    const res = await httpsCall(t, path, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
    expect(res.status).toBe(501);
    expect(res.contentType).toBe('application/json');
    expect(errorBody(res.body)).toMatchObject({ error: 'server_error', reason: 'NOT_IMPLEMENTED' });
  });

  it('answers /fetch without sub with 400 MALFORMED_REQUEST', async () => {
    const res = await httpsCall(t, '/fetch');
    expect(res.status).toBe(400);
    expect(errorBody(res.body)).toMatchObject({ error: 'invalid_request', reason: 'MALFORMED_REQUEST' });
  });

  it.each([
    ['an entity id that never enrolled', `/fetch?sub=${encodeURIComponent(cityEntityIdOf('tianjin'))}`],
    ['a city name instead of an entity id', '/fetch?sub=beijing'],
    [
      'an issuer other than this anchor',
      `/fetch?sub=${encodeURIComponent(cityEntityIdOf('beijing'))}&iss=${encodeURIComponent('https://evil.example')}`,
    ],
  ])('answers /fetch for %s with 404 MEMBER_NOT_FOUND', async (_, path) => {
    const res = await httpsCall(t, path);
    expect(res.status).toBe(404);
    expect(errorBody(res.body)).toMatchObject({ error: 'not_found', reason: 'MEMBER_NOT_FOUND' });
  });

  it.each([
    ['a body that is not JSON', 'joinToken=abc'],
    ['an empty body', ''],
  ])('answers /enrol with %s with 400 MALFORMED_REQUEST', async (_, body) => {
    const before = await latestVersion(t);
    const res = await httpsCall(t, '/enrol', { method: 'POST', body, contentType: 'text/plain' });
    expect(res.status).toBe(400);
    expect(errorBody(res.body).reason).toBe('MALFORMED_REQUEST');
    expect(await latestVersion(t)).toBe(before);
  });

  it('answers /enrol whose federation_jwks is not a JWK Set as JSON text with 400 MALFORMED_REQUEST', async () => {
    const request = { ...(await forgedEnrolRequest()), federationJwks: 'not json' };
    const res = await httpsCall(t, '/enrol', { method: 'POST', body: JSON.stringify(request) });
    expect(res.status).toBe(400);
    expect(errorBody(res.body).reason).toBe('MALFORMED_REQUEST');
  });

  it('reads a body up to 64 KiB and refuses a larger one with 400 MALFORMED_REQUEST', async () => {
    const request = await forgedEnrolRequest();
    const fill = (total: number) => {
      const padded = { ...request, caCsrPem: request['caCsrPem']!.replace('\n\n', '\nX\n') };
      const extra = total - Buffer.byteLength(JSON.stringify(padded));
      return JSON.stringify({ ...padded, caCsrPem: padded.caCsrPem.replace('\nX\n', `\n${'A'.repeat(extra + 1)}\n`) });
    };
    const atLimit = fill(64 * 1024);
    expect(Buffer.byteLength(atLimit)).toBe(64 * 1024);
    // At the limit the body is read and the request reaches the token check.
    const read = await httpsCall(t, '/enrol', { method: 'POST', body: atLimit });
    expect(read.status).toBe(401);
    expect(errorBody(read.body).reason).toBe('JOIN_TOKEN_INVALID');

    const over = fill(64 * 1024 + 1);
    expect(Buffer.byteLength(over)).toBe(64 * 1024 + 1);
    const refused = await httpsCall(t, '/enrol', { method: 'POST', body: over });
    expect(refused.status).toBe(400);
    expect(errorBody(refused.body).reason).toBe('MALFORMED_REQUEST');
  });

  it('answers /enrol with a forged join token with 401 JOIN_TOKEN_INVALID and enrols nothing', async () => {
    const before = await t.anchor.listSubordinates();
    const res = await httpsCall(t, '/enrol', { method: 'POST', body: JSON.stringify(await forgedEnrolRequest()) });
    expect(res.status).toBe(401);
    expect(errorBody(res.body)).toMatchObject({ error: 'invalid_client', reason: 'JOIN_TOKEN_INVALID' });
    expect(await t.anchor.listSubordinates()).toEqual(before);
  });
});

describe('anchor HTTPS binding: federation endpoints', () => {
  it('serves a self-signed entity configuration at /.well-known/openid-federation', async () => {
    const res = await httpsCall(t, '/.well-known/openid-federation');
    expect(res.status).toBe(200);
    expect(res.contentType).toBe('application/entity-statement+jwt');
    const now = t.clock.nowSeconds();
    // Self-signed with the keys it carries, and with the keys the node pinned at join.
    const selfSigned = await verifyEntityStatement(res.body, { now, fetchedFor: ANCHOR_ENTITY_ID });
    const pinned = await verifyEntityStatement(res.body, { keys: pins(), now, fetchedFor: ANCHOR_ENTITY_ID });
    for (const verified of [selfSigned, pinned]) {
      expect(verified.entityConfiguration).toBe(true);
      expect(verified.claims.iss).toBe(ANCHOR_ENTITY_ID);
      expect(verified.claims.sub).toBe(ANCHOR_ENTITY_ID);
    }
    expect(pinned.claims.metadata?.federation_entity?.federation_fetch_endpoint).toBe(`${ANCHOR_ENTITY_ID}/fetch`);
  });

  it('lists enrolled cities at /list and serves the root at /ca and versioned metadata at /cluster-metadata', async () => {
    const list = await httpsCall(t, '/list');
    expect(JSON.parse(list.body)).toEqual([cityEntityIdOf('beijing')]);
    const ca = await httpsCall(t, '/ca');
    expect(ca.body).toBe(t.rootPem);
    const state = await TrustState.load(beijing.dir, t.clock);
    await state.refresh();
    expect(state.metadata.version).toBe(await latestVersion(t));
  });

  it("verifies a trust chain of the city's own configuration, the anchor's statement from /fetch and the anchor's configuration", async () => {
    const sub = cityEntityIdOf('beijing');
    const statement = await httpsCall(t, `/fetch?sub=${encodeURIComponent(sub)}`);
    expect(statement.status).toBe(200);
    const anchorConfiguration = (await httpsCall(t, '/.well-known/openid-federation')).body;
    const now = t.clock.nowSeconds();

    // The city's entity configuration, signed with the node's own federation key.
    const store = openSqliteStores(nodePath(beijing.dir, 'store'));
    let cityConfiguration: string;
    let cityKey: FederationSigningKey;
    try {
      const key = await activeKey(store.keys, 'federation');
      cityKey = signingKey(key);
      const claims: EntityStatementClaims = {
        iss: sub,
        sub,
        iat: now,
        exp: now + 3600,
        jwks: { keys: [{ ...key.stored.publicJwk, use: 'sig' }] },
        authority_hints: [ANCHOR_ENTITY_ID],
      };
      cityConfiguration = await signEntityStatement(claims, cityKey);
    } finally {
      await store.close();
    }

    const state = await TrustState.load(beijing.dir, t.clock);
    const chain = await verifyTrustChain([cityConfiguration, statement.body, anchorConfiguration], {
      trustAnchors: [{ entityId: ANCHOR_ENTITY_ID, jwks: pins() }],
      now,
      subjectEntityId: sub,
      clusterMetadata: state.metadata,
    });
    expect(chain.anchorEntityId).toBe(ANCHOR_ENTITY_ID);
    expect(chain.metadata.citymesh_node).toMatchObject({
      cluster: 'jjj',
      city: 'beijing',
      trust_domain: 'beijing.jjj.citymesh',
      https_endpoint: sub,
    });

    expect(chain.metadata.citymesh_node?.ca_certificates).toEqual([readNodeFile(beijing.dir, 'cityCa')]);

    // An impostor's configuration for the same entity id, signed with a key the anchor
    // never vouched for, does not chain; nor does the real one without its authority hint.
    const impostorKey = await generateEcKeyPair();
    const impostorJwk = { ...(await exportPublicJwk(impostorKey.publicKey)), kid: impostorKey.kid, use: 'sig' };
    const impostor = await signEntityStatement(
      { iss: sub, sub, iat: now, exp: now + 3600, jwks: { keys: [impostorJwk] }, authority_hints: [ANCHOR_ENTITY_ID] },
      { kid: impostorKey.kid, privateKey: impostorKey.privateKey, alg: 'ES256' },
    );
    const options = { trustAnchors: [{ entityId: ANCHOR_ENTITY_ID, jwks: pins() }], now, subjectEntityId: sub };
    expect(await codeOf(verifyTrustChain([impostor, statement.body, anchorConfiguration], options))).toBe(
      'TOKEN_KEY_UNKNOWN',
    );
    const { authority_hints: _hints, ...unhinted } = decodeJwt(cityConfiguration) as EntityStatementClaims;
    const orphan = await signEntityStatement(unhinted as EntityStatementClaims, cityKey);
    expect(await codeOf(verifyTrustChain([orphan, statement.body, anchorConfiguration], options))).toBe(
      'TRUST_CHAIN_INVALID',
    );
  });
});
