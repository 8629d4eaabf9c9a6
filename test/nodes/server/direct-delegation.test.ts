import { createHash, randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { type CryptoKey, type JWK, SignJWT } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unaryCall } from '../../../nodes/index.js';
import {
  ACCESS_TOKEN_TYPE,
  EXCHANGE_GRANT_TOKEN_TYPE,
  JWT_BEARER_GRANT,
  TOKEN_EXCHANGE_GRANT,
} from '../../../nodes/oidc/delegation.js';
import { openNodeOidcStore } from '../../../nodes/oidc/index.js';
import { CatalogServiceClient } from '../../../proto/gen/citymesh/v1/catalog_service.js';
import {
  DatasetServiceClient,
  type FetchRecordsRequest,
  type FetchRecordsResponse,
} from '../../../proto/gen/citymesh/v1/dataset_service.js';
import {
  appToken,
  authenticatedAs,
  keyPair,
  registerApp,
  type TokenEndpoint,
  tokenRequest,
} from '../oidc/delegation-support.js';
import { outcomeOf, startTestCluster, type TestCluster, testEntry } from './cluster-fixture.js';

/**
 * identity.md §8 end to end, across two running nodes: a Beijing app exchanges its token
 * for a grant at Beijing (RFC 8693), turns the grant into a peer access token at Tianjin
 * (RFC 7523), and calls Tianjin's node directly over gRPC with DPoP. Tianjin's policy
 * decides, and the token is good for exactly the exchange Beijing authorised.
 */

const APP = 'spiffe://beijing.jjj.citymesh/app/planner';
const COUNTS = 'jjj/tianjin/transport-bureau/counts';
const PLANS = 'jjj/tianjin/transport-bureau/plans';
const PURPOSE = 'traffic-planning';

let cluster: TestCluster;
let agent: Agent;
let beijing: TokenEndpoint;
let tianjin: TokenEndpoint;
let appKey: Awaited<ReturnType<typeof keyPair>>;
let dpopKey: Awaited<ReturnType<typeof keyPair>>;
let direct: DatasetServiceClient;
let htu: (method: string) => string;

beforeAll(async () => {
  cluster = await startTestCluster(['beijing', 'tianjin'], { loopbackEntityIds: true });
  agent = new Agent({ connect: { ca: cluster.anchor.rootPem } });
  const fetch = ((url: string, init?: RequestInit) =>
    undiciFetch(url, { ...(init as object), dispatcher: agent })) as unknown as TokenEndpoint['fetch'];
  const bj = cluster.cities.beijing!;
  const tj = cluster.cities.tianjin!;
  beijing = { issuer: bj.node.context.identity.entityId, fetch };
  tianjin = { issuer: tj.node.context.identity.entityId, fetch };

  const store = openNodeOidcStore(bj.dir);
  appKey = await registerApp({ store }, 'planner');
  await store.close();
  dpopKey = await keyPair('dpop');

  const stores = tj.node.context.stores;
  await stores.catalog.put(testEntry('tianjin', 'counts'));
  await stores.catalog.put(testEntry('tianjin', 'plans', { classification: 'internal' }));
  await stores.records.appendBatch(COUNTS, [{ recordId: 'c1', json: '{"cars":42}' }], new Date());
  await stores.records.appendBatch(PLANS, [{ recordId: 'p1', json: '{"plan":"ring-5"}' }], new Date());

  const endpoint = tj.node.context.identity.grpcEndpoint;
  direct = new DatasetServiceClient(endpoint, grpc.credentials.createSsl(Buffer.from(cluster.anchor.rootPem)));
  htu = (method) => `https://${endpoint}/citymesh.v1.${method}`;
}, 120_000);

afterAll(async () => {
  direct?.close();
  await agent?.close();
  await cluster?.stop();
});

/** The whole delegation: an exchange grant from Beijing, then a peer token from Tianjin. */
async function peerToken(resource = COUNTS, purpose = PURPOSE): Promise<string> {
  const subject = await appToken(beijing, 'planner', appKey);
  const grant = await tokenRequest(
    beijing,
    {
      grant_type: TOKEN_EXCHANGE_GRANT,
      ...(await authenticatedAs(beijing, 'planner', appKey)),
      subject_token: subject,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: EXCHANGE_GRANT_TOKEN_TYPE,
      audience: tianjin.issuer,
      resource,
      scope: 'read',
      purpose,
    },
    dpopKey,
  );
  expect(grant.status, JSON.stringify(grant.body)).toBe(200);
  const peer = await tokenRequest(
    tianjin,
    { grant_type: JWT_BEARER_GRANT, client_id: APP, assertion: grant.body['access_token'] as string },
    dpopKey,
  );
  expect(peer.status, JSON.stringify(peer.body)).toBe(200);
  return peer.body['access_token'] as string;
}

/** A DPoP proof for one gRPC call (RFC 9449 §4.2: POST to the method's URL, `ath` of the token). */
function proof(token: string, method: string, key: { privateKey: CryptoKey; jwk: JWK } = dpopKey) {
  const { kid: _kid, ...jwk } = key.jwk;
  return new SignJWT({
    htm: 'POST',
    htu: htu(method),
    jti: randomUUID(),
    ath: createHash('sha256').update(token).digest('base64url'),
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
    .setIssuedAt()
    .sign(key.privateKey);
}

function request(datasetId: string, purpose = PURPOSE): FetchRecordsRequest {
  return { datasetId, purpose, afterSequence: 0, agreementId: '', pageSize: 0, pageToken: '' };
}

async function fetchDirect(token: string, req: FetchRecordsRequest, dpop?: string | null) {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `DPoP ${token}`);
  const value = dpop === undefined ? await proof(token, 'DatasetService/FetchRecords') : dpop;
  if (value !== null) metadata.set('dpop', value);
  return unaryCall<FetchRecordsResponse>((cb) => direct.fetchRecords(req, metadata, cb));
}

describe('an app of Beijing calling Tianjin directly with a peer access token', () => {
  it('fetches, and Tianjin records the decision and a receipt naming the app', async () => {
    const token = await peerToken();
    const res = await fetchDirect(token, request(COUNTS));
    expect(res.records.map((r) => JSON.parse(r.json.toString()))).toEqual([{ cars: 42 }]);
    const receipt = res.receipt!;
    expect(receipt.providerNodeId).toBe('spiffe://tianjin.jjj.citymesh/node/n1');
    const audit = cluster.cities.tianjin!.node.context.stores.audit;
    expect((await audit.getReceipts(receipt.correlationId)).map((r) => r.role)).toEqual(['provider']);
    const served = await audit.get(receipt.auditSequence);
    expect(served).toMatchObject({ kind: 'exchange.served', correlationId: receipt.correlationId, actor: APP });
    const decision = await audit.get(receipt.auditSequence - 1);
    expect(decision?.kind).toBe('decision.allowed');
    expect(JSON.parse(decision!.payload as string)).toMatchObject({
      subjectCity: 'beijing',
      consumerNodeId: APP,
      purpose: PURPOSE,
      resource: COUNTS,
    });
  });

  it('is good only for the resource, action and purpose Beijing authorised', async () => {
    const token = await peerToken();
    expect(await outcomeOf(fetchDirect(token, request(PLANS)))).toBe('TOKEN_AUDIENCE_MISMATCH');
    expect(await outcomeOf(fetchDirect(token, request(COUNTS, 'marketing')))).toBe('TOKEN_AUDIENCE_MISMATCH');
    const catalog = new CatalogServiceClient(
      cluster.cities.tianjin!.node.context.identity.grpcEndpoint,
      grpc.credentials.createSsl(Buffer.from(cluster.anchor.rootPem)),
    );
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `DPoP ${token}`);
    metadata.set('dpop', await proof(token, 'CatalogService/ListEntries'));
    const listing = unaryCall((cb) =>
      catalog.listEntries({ kind: 0, industry: '', regionCode: '', org: '', pageSize: 0, pageToken: '' }, metadata, cb),
    );
    expect(await outcomeOf(listing.finally(() => catalog.close()))).toBe('ROLE_REQUIRED');
  });

  it("leaves the decision to Tianjin's policy: internal data needs Tianjin's grant", async () => {
    const token = await peerToken(PLANS);
    expect(await outcomeOf(fetchDirect(token, request(PLANS)))).toBe('POLICY_DENIED');
    await cluster.grant('tianjin', {
      city: 'beijing',
      resource: 'jjj/tianjin/transport-bureau/*',
      actions: ['read'],
      maxClassification: 'internal',
    });
    const res = await fetchDirect(await peerToken(PLANS), request(PLANS));
    expect(res.records).toHaveLength(1);
  });

  it('needs a fresh proof of the bound key on every call', async () => {
    const token = await peerToken();
    expect(await outcomeOf(fetchDirect(token, request(COUNTS), null))).toBe('CREDENTIALS_MISSING');
    const once = await proof(token, 'DatasetService/FetchRecords');
    expect((await fetchDirect(token, request(COUNTS), once)).records).toHaveLength(1);
    expect(await outcomeOf(fetchDirect(token, request(COUNTS), once))).toBe('TOKEN_REPLAYED');
    const stranger = await keyPair('other');
    const foreignProof = await proof(token, 'DatasetService/FetchRecords', stranger);
    expect(await outcomeOf(fetchDirect(token, request(COUNTS), foreignProof))).toBe('TOKEN_KEY_UNKNOWN');
  });

  it("is refused at Beijing's own node, which did not issue it", async () => {
    const token = await peerToken();
    const bjEndpoint = cluster.cities.beijing!.node.context.identity.grpcEndpoint;
    const home = new DatasetServiceClient(bjEndpoint, grpc.credentials.createSsl(Buffer.from(cluster.anchor.rootPem)));
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `DPoP ${token}`);
    metadata.set('dpop', await proof(token, 'DatasetService/FetchRecords'));
    const outcome = await outcomeOf(
      unaryCall((cb) => home.fetchRecords(request(COUNTS), metadata, cb)).finally(() => home.close()),
    );
    expect(outcome).toBe('TOKEN_ISSUER_MISMATCH');
  });

  it('is refused once Beijing is revoked and Tianjin holds the new metadata', async () => {
    const token = await peerToken();
    expect((await fetchDirect(token, request(COUNTS))).records).toHaveLength(1);
    await cluster.anchor.anchor.revoke('city', 'beijing', 'compromised');
    await cluster.cities.tianjin!.node.refresh();
    expect(await outcomeOf(fetchDirect(token, request(COUNTS)))).toBe('CITY_REVOKED');
  });
});
