import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromServiceError } from '../../../common/errors/grpc.js';
import { type ExchangeGrantRequest, federationKeySigner, issueExchangeGrant } from '../../../nodes/exchange/index.js';
import { readNodeFile } from '../../../nodes/trust/node-files.js';
import {
  DatasetServiceClient,
  type FetchRecordsRequest,
  type FetchRecordsResponse,
} from '../../../proto/gen/citymesh/v1/dataset_service.js';
import { activeKey, keysWith, signingKey } from '../../../trust-anchor/index.js';
import { outcomeOf as codeOf, startTestCluster, type TestCluster, testEntry } from './cluster-fixture.js';

const BUS = 'jjj/beijing/transport-bureau/bus-stops';
const STATS = 'jjj/beijing/transport-bureau/ridership';
const BEIJING_NODE = 'spiffe://beijing.jjj.citymesh/node/n1';

let cluster: TestCluster;
let endpoint: string;

/** A client of Beijing's node with `city`'s node credentials (as a peer node would dial). */
async function nodeClient(city: string): Promise<DatasetServiceClient> {
  const c = cluster.cities[city]!;
  const tls = (await keysWith(c.node.context.stores.keys, 'tls', 'active')).at(-1)!;
  const creds = grpc.credentials.createSsl(
    Buffer.from(readNodeFile(c.dir, 'bundle')),
    Buffer.from(tls.privateKeyPem!),
    Buffer.from(readNodeFile(c.dir, 'nodeCert')),
    { checkServerIdentity: () => undefined },
  );
  return new DatasetServiceClient(endpoint, creds);
}

async function grantFrom(city: string, overrides: Partial<ExchangeGrantRequest> = {}): Promise<string> {
  const ctx = cluster.cities[city]!.node.context;
  const signer = federationKeySigner(ctx.identity.spiffeId, signingKey(await activeKey(ctx.stores.keys, 'federation')));
  const { token } = await issueExchangeGrant(
    signer,
    {
      sub: `spiffe://${city}.jjj.citymesh/app/planner`,
      act: { sub: ctx.identity.spiffeId },
      city,
      industry: 'transport',
      level: 'city',
      purpose: 'traffic-planning',
      aud: BEIJING_NODE,
      resource: BUS,
      action: 'read',
      ...overrides,
    },
    ctx.clock.now(),
  );
  return token;
}

function fetchAs(
  client: DatasetServiceClient,
  grant: string | undefined,
  datasetId = BUS,
): Promise<FetchRecordsResponse> {
  const metadata = new grpc.Metadata();
  if (grant !== undefined) metadata.set('authorization', `Bearer ${grant}`);
  metadata.set('citymesh-correlation-id', randomUUID());
  const request: FetchRecordsRequest = {
    datasetId,
    purpose: 'traffic-planning',
    afterSequence: 0,
    agreementId: '',
    pageSize: 10,
    pageToken: '',
  };
  return new Promise((done, fail) =>
    client.fetchRecords(request, metadata, (err, res) => (err ? fail(fromServiceError(err)) : done(res))),
  );
}

beforeAll(async () => {
  cluster = await startTestCluster(['beijing', 'tianjin', 'tangshan']);
  const b = cluster.cities.beijing!.node.context;
  endpoint = b.identity.grpcEndpoint;
  await b.stores.catalog.put(testEntry('beijing', 'bus-stops'));
  await b.stores.catalog.put(testEntry('beijing', 'ridership', { classification: 'internal' }));
  await b.stores.records.appendBatch(BUS, [{ json: '{"stop":1}' }], new Date());
  await b.stores.records.appendBatch(STATS, [{ json: '{"riders":1}' }], new Date());
});

afterAll(() => cluster?.stop());

describe('a peer node calling the provider directly', () => {
  it('is served with a valid grant', async () => {
    const res = await fetchAs(await nodeClient('tianjin'), await grantFrom('tianjin'));
    expect(res.records).toHaveLength(1);
  });

  it('is refused without a client certificate', async () => {
    const creds = grpc.credentials.createSsl(
      Buffer.from(readNodeFile(cluster.cities.tianjin!.dir, 'bundle')),
      null,
      null,
      {
        checkServerIdentity: () => undefined,
      },
    );
    const client = new DatasetServiceClient(endpoint, creds);
    // TLS lets it in (apps may come with an access token instead); the call itself is
    // refused: without the node's mTLS an exchange grant is only a would-be access token.
    expect(await codeOf(fetchAs(client, await grantFrom('tianjin')))).toBe('TOKEN_TYPE_MISMATCH');
    expect(await codeOf(fetchAs(client, undefined))).toBe('CREDENTIALS_MISSING');
    client.close();
  });

  it('is refused without a grant, with a replayed one, or one for another audience', async () => {
    const client = await nodeClient('tianjin');
    expect(await codeOf(fetchAs(client, undefined))).toBe('CREDENTIALS_MISSING');
    const grant = await grantFrom('tianjin');
    expect(await codeOf(fetchAs(client, grant))).toBe('OK');
    expect(await codeOf(fetchAs(client, grant))).toBe('TOKEN_REPLAYED');
    const other = await grantFrom('tianjin', { aud: 'spiffe://tangshan.jjj.citymesh/node/n1', resource: BUS });
    expect(await codeOf(fetchAs(client, other))).toBe('TOKEN_AUDIENCE_MISMATCH');
  });

  it('is refused with an expired grant', async () => {
    const client = await nodeClient('tianjin');
    const grant = await grantFrom('tianjin', { lifetimeSeconds: 5 });
    cluster.anchor.clock.advanceSeconds(120);
    expect(await codeOf(fetchAs(client, grant))).toBe('TOKEN_EXPIRED');
  });

  it('is refused for a grant of another city presented over this connection', async () => {
    const client = await nodeClient('tianjin');
    expect(await codeOf(fetchAs(client, await grantFrom('tangshan')))).toBe('TOKEN_ISSUER_MISMATCH');
  });

  it('is refused for a grant used on another resource than it names', async () => {
    const client = await nodeClient('tianjin');
    expect(await codeOf(fetchAs(client, await grantFrom('tianjin'), STATS))).toBe('TOKEN_AUDIENCE_MISMATCH');
  });

  it('gets nothing above the classification the grant allows', async () => {
    const client = await nodeClient('tianjin');
    const grant = await grantFrom('tianjin', { resource: STATS, max_classification: 'public' });
    expect(await codeOf(fetchAs(client, grant, STATS))).toBe('CLASSIFICATION_EXCEEDED');
  });

  it('is refused once its city is revoked, as soon as the provider holds the new metadata', async () => {
    const client = await nodeClient('tangshan');
    expect(await codeOf(fetchAs(client, await grantFrom('tangshan')))).toBe('OK');
    await cluster.anchor.anchor.revoke('city', 'tangshan', 'compromised');
    await cluster.cities.beijing!.node.refresh();
    expect(await codeOf(fetchAs(client, await grantFrom('tangshan')))).toBe('CITY_REVOKED');
  });
});
