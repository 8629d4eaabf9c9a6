import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../common/clock.js';
import { type AppClients, unaryCall } from '../../../nodes/index.js';
import type { FetchRecordsResponse, StreamRecordsResponse } from '../../../proto/gen/citymesh/v1/dataset_service.js';
import { outcomeOf as codeOf, startTestCluster, type TestCluster, testEntry } from './cluster-fixture.js';

const call = unaryCall;

const fetch = (app: AppClients, datasetId: string, extra: { agreementId?: string; purpose?: string } = {}) =>
  call<FetchRecordsResponse>((cb) =>
    app.datasets.fetchRecords(
      {
        datasetId,
        purpose: extra.purpose ?? 'traffic-planning',
        afterSequence: 0,
        agreementId: extra.agreementId ?? '',
        pageSize: 0,
        pageToken: '',
      },
      cb,
    ),
  );

let cluster: TestCluster;
let tianjinApp: AppClients;
const BUS = 'jjj/beijing/transport-bureau/bus-stops';
const STATS = 'jjj/beijing/transport-bureau/ridership';
const HEALTH = 'jjj/beijing/transport-bureau/driver-health';

beforeAll(async () => {
  cluster = await startTestCluster(['beijing', 'tianjin']);
  const stores = cluster.cities.beijing!.node.context.stores;
  await stores.catalog.put(testEntry('beijing', 'bus-stops'));
  await stores.catalog.put(testEntry('beijing', 'ridership', { classification: 'internal' }));
  await stores.catalog.put(
    testEntry('beijing', 'driver-health', { classification: 'sensitive', requiresAgreement: true }),
  );
  const records = Array.from({ length: 1200 }, (_, i) => ({ recordId: `s${i}`, json: JSON.stringify({ stop: i }) }));
  await stores.records.appendBatch(BUS, records, new Date());
  await stores.records.appendBatch(STATS, [{ json: '{"riders":10}' }], new Date());
  tianjinApp = await cluster.app('tianjin', 'route-planner');
});

afterAll(() => cluster?.stop());

describe('cross-city exchange through the home node', () => {
  it('fetches a public dataset of another city with a receipt both sides can prove', async () => {
    const res = await fetch(tianjinApp, BUS);
    expect(res.records).toHaveLength(500);
    expect(res.records[0]!.sequence).toBe(1);
    expect(JSON.parse(res.records[0]!.json.toString())).toEqual({ stop: 0 });
    expect(res.nextPageToken).toBe('500');
    const receipt = res.receipt!;
    expect(receipt.providerNodeId).toBe('spiffe://beijing.jjj.citymesh/node/n1');
    const providerReceipts = await cluster.cities.beijing!.node.context.stores.audit.getReceipts(receipt.correlationId);
    const consumerReceipts = await cluster.cities.tianjin!.node.context.stores.audit.getReceipts(receipt.correlationId);
    expect(providerReceipts.map((r) => r.role)).toEqual(['provider']);
    expect(consumerReceipts.map((r) => r.role)).toEqual(['consumer']);
    expect(consumerReceipts[0]!.receiptJws).toBe(receipt.signature);
    const served = await cluster.cities.beijing!.node.context.stores.audit.get(receipt.auditSequence);
    expect(served).toMatchObject({ kind: 'exchange.served', correlationId: receipt.correlationId });
  });

  it("serves a city's own app directly, with a receipt naming the app", async () => {
    const beijingApp = await cluster.app('beijing', 'local-planner');
    const res = await fetch(beijingApp, BUS);
    expect(res.records.length).toBeGreaterThan(0);
    const receipts = await cluster.cities.beijing!.node.context.stores.audit.getReceipts(res.receipt!.correlationId);
    expect(receipts.map((r) => r.role)).toEqual(['provider']);
  });

  it('streams every record in order, then the receipt', async () => {
    const stream = tianjinApp.datasets.streamRecords({
      datasetId: BUS,
      purpose: 'traffic-planning',
      afterSequence: 0,
      agreementId: '',
      maxRecords: 0,
      batchSize: 100,
    });
    const sequences: number[] = [];
    let receipts = 0;
    for await (const message of stream as AsyncIterable<StreamRecordsResponse>) {
      if (message.item?.$case === 'batch') sequences.push(...message.item.batch.records.map((r) => r.sequence));
      if (message.item?.$case === 'receipt') receipts++;
    }
    expect(sequences).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
    expect(receipts).toBe(1);
  });

  it('denies internal data without a grant of the providing city, and serves it once granted', async () => {
    expect(await codeOf(fetch(tianjinApp, STATS))).toBe('POLICY_DENIED');
    await cluster.grant('beijing', {
      city: 'tianjin',
      resource: 'jjj/beijing/transport-bureau/*',
      actions: ['read'],
      maxClassification: 'internal',
    });
    expect((await fetch(tianjinApp, STATS)).records).toHaveLength(1);
  });

  it('serves a dataset that requires an agreement only under one', async () => {
    expect(await codeOf(fetch(tianjinApp, HEALTH))).toBe('AGREEMENT_REQUIRED');
    expect(await codeOf(fetch(tianjinApp, HEALTH, { agreementId: '0b5d1f0e-8f4b-4c86-9a1e-8e2f53e0a000' }))).toBe(
      'AGREEMENT_REQUIRED',
    );
  });

  it('refuses a dataset the owner does not publish, and a call without a purpose', async () => {
    expect(await codeOf(fetch(tianjinApp, 'jjj/beijing/transport-bureau/nothing'))).toBe('DATASET_NOT_FOUND');
    expect(await codeOf(fetch(tianjinApp, BUS, { purpose: '' }))).not.toBe('OK');
  });

  it('reports the version of the policy in force, which a grant change moves', async () => {
    const beijingApp = await cluster.app('beijing', 'status-reader');
    const version = async () =>
      (await call<{ policyVersion: string }>((cb) => beijingApp.node.getNodeStatus({}, cb))).policyVersion;
    const before = await version();
    expect(before).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await cluster.grant('beijing', {
      city: 'tangshan',
      resource: 'jjj/beijing/transport-bureau/*',
      actions: ['read'],
      maxClassification: 'public',
    });
    expect(await version()).not.toBe(before);
  });

  it('audits denials on the provider', async () => {
    const audit = cluster.cities.beijing!.node.context.stores.audit;
    const entries = await audit.range(1, 1000);
    expect(entries.some((e) => e.kind === 'decision.denied' && e.payload.includes('POLICY_DENIED'))).toBe(true);
  });
});

describe('node certificate renewal', () => {
  it('renews the SVID at half-life in the running node and keeps serving with the new one', async () => {
    // The cluster starts 13 h in the past, so the renewed certificate (valid from "now")
    // is valid for the real TLS stack too, which reads the wall clock.
    const clock = new ManualClock(Date.now() - 13 * 3600 * 1000);
    const past = await startTestCluster(['beijing', 'tianjin'], { clock });
    try {
      const stores = past.cities.beijing!.node.context.stores;
      await stores.catalog.put(testEntry('beijing', 'bus-stops'));
      await stores.records.appendBatch(BUS, [{ json: '{"stop":1}' }], clock.now());
      const app = await past.app('tianjin', 'planner');
      const node = past.cities.beijing!.node;
      const before = node.context.tls.notAfter;
      expect(await node.renewCertificate()).toBe(false);
      clock.advanceSeconds(13 * 3600);
      await past.cities.tianjin!.node.refresh();
      await node.refresh();
      expect(await node.renewCertificate()).toBe(true);
      expect(node.context.tls.notAfter.getTime()).toBeGreaterThan(before.getTime());
      // The running server presents the new certificate to new connections: no restart.
      const fresh = await past.app('tianjin', 'after-renewal');
      expect((await fetch(fresh, BUS)).records).toHaveLength(1);
      expect((await fetch(app, BUS)).records).toHaveLength(1);
    } finally {
      await past.stop();
    }
  });
});
