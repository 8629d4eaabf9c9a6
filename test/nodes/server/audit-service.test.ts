import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromServiceError } from '../../../common/errors/grpc.js';
import { verifyAuditExport, verifyCheckpoint } from '../../../nodes/audit/index.js';
import type { AppClients } from '../../../nodes/index.js';
import { unaryCall } from '../../../nodes/index.js';
import { auditExportFromMessages, checkpointFromProto } from '../../../nodes/server/services/audit-proto.js';
import {
  AuditEntryKind,
  AuditServiceClient,
  type ExportAuditResponse,
  type ListAuditEntriesRequest,
  type ListAuditEntriesResponse,
} from '../../../proto/gen/citymesh/v1/audit_service.js';
import type { FetchRecordsResponse } from '../../../proto/gen/citymesh/v1/dataset_service.js';
import { findMember } from '../../../trust-anchor/index.js';
import { outcomeOf as codeOf, startTestCluster, type TestCluster, testEntry } from './cluster-fixture.js';

const call = unaryCall;

const BUS = 'jjj/beijing/transport-bureau/bus-stops';
const BEIJING_NODE = 'spiffe://beijing.jjj.citymesh/node/n1';

const fetchBus = (app: AppClients) =>
  call<FetchRecordsResponse>((cb) =>
    app.datasets.fetchRecords(
      { datasetId: BUS, purpose: 'traffic-planning', afterSequence: 0, agreementId: '', pageSize: 0, pageToken: '' },
      cb,
    ),
  );
const list = (client: AuditServiceClient, request: Partial<ListAuditEntriesRequest> = {}) =>
  call<ListAuditEntriesResponse>((cb) =>
    client.listAuditEntries(
      { fromSequence: 0, kind: 0, correlationId: '', pageSize: 0, pageToken: '', ...request },
      cb,
    ),
  );
const latestCheckpoint = (client: AuditServiceClient) =>
  call<{ checkpoint?: import('../../../proto/gen/citymesh/v1/audit_service.js').Checkpoint }>((cb) =>
    client.getCheckpoint({ sequence: 0 }, cb),
  );
const receiptsOf = (client: AuditServiceClient, correlationId: string) =>
  call<{ receipts: { correlationId: string; providerNodeId: string }[] }>((cb) =>
    client.getReceipt({ correlationId }, cb),
  );
const exportAll = async (client: AuditServiceClient) => {
  const messages: ExportAuditResponse[] = [];
  const stream = client.exportAudit({ fromSequence: 0, toSequence: 0, includeCheckpoints: true });
  try {
    for await (const m of stream as AsyncIterable<ExportAuditResponse>) messages.push(m);
  } catch (err) {
    throw fromServiceError(err as grpc.ServiceError);
  }
  return messages;
};

let cluster: TestCluster;
let auditor: AppClients;
let planner: AppClients;
/** Tianjin's node calling Beijing's AuditService over mTLS with its own SVID. */
let tianjinNode: AuditServiceClient;
let crossCity: string;
/** An exchange of Tangshan with Beijing, which Tianjin took no part in. */
let other: string;
const beijingKeys = () => findMember(cluster.cities.beijing!.node.context.trust.metadata, 'beijing').federation_jwks;

beforeAll(async () => {
  cluster = await startTestCluster(['beijing', 'tianjin', 'tangshan']);
  const stores = cluster.cities.beijing!.node.context.stores;
  await stores.catalog.put(testEntry('beijing', 'bus-stops'));
  await stores.records.appendBatch(BUS, [{ recordId: 's1', json: '{"stop":1}' }], new Date());
  crossCity = (await fetchBus(await cluster.app('tianjin', 'route-planner'))).receipt!.correlationId;
  other = (await fetchBus(await cluster.app('tangshan', 'port-planner'))).receipt!.correlationId;
  // A node signs a checkpoint of its head when it closes: restart so there is one to read.
  await cluster.restart('beijing');
  auditor = await cluster.app('beijing', 'city-auditor', { roles: ['auditor'] });
  planner = await cluster.app('beijing', 'bus-planner', { roles: ['data-office'] });
  const tls = cluster.cities.tianjin!.node.context.tls;
  tianjinNode = new AuditServiceClient(
    `localhost:${cluster.cities.beijing!.node.port}`,
    grpc.experimental.createCertificateProviderChannelCredentials(tls, tls, { checkServerIdentity: () => undefined }),
  );
});

afterAll(async () => {
  tianjinNode?.close();
  await cluster?.stop();
});

describe('AuditService for auditors of the city', () => {
  it('lists entries whose canonical bytes hash to their hash, filtered and paged', async () => {
    const all = await list(auditor.audit);
    expect(all.entries.length).toBeGreaterThan(3);
    expect(all.entries[0]!.sequence).toBe(1);
    for (const e of all.entries) {
      expect(createHash('sha256').update(e.canonical).digest('hex')).toBe(e.hash);
    }
    const exchange = await list(auditor.audit, { correlationId: crossCity });
    expect(exchange.entries.map((e) => e.kind)).toEqual([
      AuditEntryKind.AUDIT_ENTRY_KIND_DECISION,
      AuditEntryKind.AUDIT_ENTRY_KIND_EXCHANGE,
    ]);
    const first = await list(auditor.audit, { pageSize: 2 });
    expect(first.entries.map((e) => e.sequence)).toEqual([1, 2]);
    const second = await list(auditor.audit, { pageSize: 2, pageToken: first.nextPageToken });
    expect(second.entries.map((e) => e.sequence)).toEqual([3, 4]);
    expect(
      await codeOf(list(auditor.audit, { pageSize: 2, correlationId: other, pageToken: first.nextPageToken })),
    ).toBe('INVALID_PAGE_TOKEN');
  });

  it('verifies the chain up to the head against its checkpoint', async () => {
    const head = await cluster.cities.beijing!.node.context.stores.audit.head();
    const res = await call<{ valid: boolean; toSequence: number; checkpoint?: { sequence: number } }>((cb) =>
      auditor.audit.verifyAuditChain({ fromSequence: 0, toSequence: 0 }, cb),
    );
    expect(res).toMatchObject({ valid: true, fromSequence: 1, toSequence: head.sequence, firstInvalidSequence: 0 });
    expect(res.checkpoint?.sequence).toBe(head.sequence);
  });

  it('gives the latest checkpoint, signed by the node key the cluster metadata lists', async () => {
    const { checkpoint } = await latestCheckpoint(auditor.audit);
    expect(checkpoint?.nodeId).toBe(BEIJING_NODE);
    await verifyCheckpoint(checkpointFromProto(checkpoint!), {
      keys: beijingKeys(),
      nodeId: BEIJING_NODE,
      now: cluster.anchor.clock.now(),
    });
  });

  it('streams an export that verifies offline with the pinned keys', async () => {
    const messages = await exportAll(auditor.audit);
    const exp = auditExportFromMessages(messages, {
      nodeId: BEIJING_NODE,
      keys: beijingKeys(),
      exportedAt: cluster.anchor.clock.now(),
    });
    const report = await verifyAuditExport(exp, {
      trustedKeys: { [BEIJING_NODE]: beijingKeys() },
      now: cluster.anchor.clock.now(),
    });
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.keySource).toBe('trusted');
    expect(report.checkpoints.verified).toBeGreaterThanOrEqual(1);
    expect(report.uncheckpointed).toBe(0);
  });

  it('refuses apps without the auditor role', async () => {
    expect(await codeOf(list(planner.audit))).toBe('ROLE_REQUIRED');
    expect(await codeOf(latestCheckpoint(planner.audit))).toBe('ROLE_REQUIRED');
    expect(await codeOf(receiptsOf(planner.audit, other))).toBe('ROLE_REQUIRED');
    expect(await codeOf(exportAll(planner.audit))).toBe('ROLE_REQUIRED');
  });
});

describe('AuditService for peer nodes', () => {
  it("gives a peer the receipt of its own city's exchange, not of another's", async () => {
    const own = await receiptsOf(tianjinNode, crossCity);
    expect(own.receipts).toHaveLength(1);
    expect(own.receipts[0]).toMatchObject({ correlationId: crossCity, providerNodeId: BEIJING_NODE });
    expect(await codeOf(receiptsOf(tianjinNode, other))).toBe('AUDIT_ENTRY_NOT_FOUND');
    // An auditor of the city sees every receipt.
    expect((await receiptsOf(auditor.audit, other)).receipts).toHaveLength(1);
  });

  it('lets a peer read checkpoints but not the entries', async () => {
    expect((await latestCheckpoint(tianjinNode)).checkpoint?.nodeId).toBe(BEIJING_NODE);
    expect(await codeOf(list(tianjinNode))).toBe('ROLE_REQUIRED');
  });
});
