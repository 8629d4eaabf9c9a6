import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../common/clock.js';
import { fromServiceError } from '../../common/errors/grpc.js';
import { isMeshError } from '../../common/errors/mesh-error.js';
import { getCity } from '../../common/ids/index.js';
import type { AuditReceipt } from '../../common/stores/audit-store.js';
import { type AppClients, connectApp } from '../../nodes/index.js';
import { nodePath } from '../../nodes/trust/node-files.js';
import type { StreamRecordsResponse } from '../../proto/gen/citymesh/v1/dataset_service.js';
import { fetchOnce, streamAll } from '../../simulations/exchange-phase.js';
import { runCli } from '../../simulations/processes.js';
import { sampleCatalog, writeSampleCatalog } from '../../simulations/samples/index.js';
import { openSqliteStores } from '../../stores/index.js';
import { citymesh, freePort, requireBuiltCli, startCitymesh, stop } from '../support/cli-process.js';

/*
 * Issue 4: kill -9 of the provider mid-stream. After a restart the provider's audit chain
 * verifies, and every receipt the consumer holds names an `exchange.served` entry of the
 * provider's log under the same correlation id. Anchor and both nodes are separate
 * processes started through the real CLI, as in `citymesh simulate`.
 */

const CLUSTER = 'jjj';
const PROVIDER = 'beijing';
const CONSUMER = 'tianjin';
const PURPOSE = 'cross-city-planning';
const BULK_RECORDS = 3_000;
const READY = /serving at (\S+)/;

/**
 * The provider publishes its sample catalog and imports one public dataset, the bus stops,
 * with thousands of extra records (copies under new ids): long enough for a stream of
 * small batches to still be running when the provider is killed. Only that dataset is
 * imported, to keep the test's setup short on a 2-core CI machine.
 */
async function publishProvider(work: string): Promise<string> {
  const files = writeSampleCatalog(join(work, 'samples'), CLUSTER, PROVIDER);
  await runCli(['catalog', 'publish', files.manifest, '--dir', PROVIDER], work);
  const busStops = sampleCatalog(CLUSTER, PROVIDER).datasets.find((d) => d.id.endsWith('/bus-stops'));
  if (busStops === undefined) throw new Error('the samples have no bus-stops dataset');
  const records = Array.from({ length: BULK_RECORDS }, (_, i) => ({
    ...busStops.records[i % busStops.records.length],
    id: `bulk-${String(i + 1).padStart(4, '0')}`,
  }));
  const file = join(work, 'samples', 'bus-stops.bulk.ndjson');
  writeFileSync(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  await runCli(['datasets', 'import', busStops.id, file, '--dir', PROVIDER, '--id-field', 'id'], work);
  return busStops.id;
}

/** Streams a dataset in batches of 10, calling `onBatch` after each; resolves with how it ended. */
async function streamWatched(app: AppClients, datasetId: string, onBatch: (n: number) => void): Promise<string> {
  const stream = app.datasets.streamRecords({
    datasetId,
    purpose: PURPOSE,
    afterSequence: 0,
    agreementId: '',
    maxRecords: 0,
    batchSize: 10,
  });
  let batches = 0;
  try {
    for await (const message of stream as AsyncIterable<StreamRecordsResponse>) {
      if (message.item?.$case === 'batch') onBatch(++batches);
    }
    return 'completed';
  } catch (err) {
    const mesh = fromServiceError(err as Parameters<typeof fromServiceError>[0]);
    return isMeshError(mesh) ? mesh.code : String(err);
  }
}

async function allReceipts(dir: string): Promise<AuditReceipt[]> {
  const stores = openSqliteStores(nodePath(dir, 'store'));
  try {
    const receipts: AuditReceipt[] = [];
    let pageToken: string | undefined;
    do {
      const page = await stores.audit.listReceipts({ pageSize: 500, ...(pageToken ? { pageToken } : {}) });
      receipts.push(...page.items);
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    return receipts;
  } finally {
    await stores.close();
  }
}

describe('kill -9 of a provider mid-stream', () => {
  const work = mkdtempSync(join(tmpdir(), 'citymesh-provider-crash-'));
  const children = new Set<ChildProcess>();
  let app: AppClients | undefined;
  afterAll(async () => {
    app?.close();
    for (const child of children) await stop(child);
    rmSync(work, { recursive: true, force: true });
  });

  async function start(args: string[]): Promise<{ child: ChildProcess; url: string }> {
    const { child, match } = await startCitymesh(args, work, READY);
    children.add(child);
    child.once('exit', () => children.delete(child));
    return { child, url: match[1] as string };
  }

  it('leaves a provider chain that verifies and holds every entry the consumer has a receipt for', async () => {
    requireBuiltCli();
    const base = await freePort();
    await runCli(['anchor', 'init', '--cluster', CLUSTER, '--dir', 'anchor', '--port', String(base)], work);
    const anchor = await start(['anchor', 'serve', '--dir', 'anchor']);
    for (const [i, city] of [PROVIDER, CONSUMER].entries()) {
      const port = base + 10 * (i + 1);
      const token = (await runCli(['anchor', 'invite', '--dir', 'anchor', '--city', city], work))
        .trim()
        .split('\n')
        .at(-1);
      await runCli(
        [
          ...['node', 'join', '--dir', city, '--anchor', anchor.url, '--token', token as string],
          ...['--endpoint', `localhost:${port}`, '--entity-id', `https://localhost:${port + 1}`],
        ],
        work,
      );
    }
    const bulkDataset = await publishProvider(work);
    await runCli(
      [
        ...['apps', 'add', '--dir', CONSUMER, '--id', 'crash-app', '--org', 'city-data-office'],
        ...['--industry', 'transport', '--region', getCity(CONSUMER).region, '--out', join('apps', CONSUMER)],
      ],
      work,
    );
    const serve = (city: string) => ['node', 'serve', '--dir', city, '--refresh-interval', '1'];
    let provider = await start(serve(PROVIDER));
    await start(serve(CONSUMER));
    app = connectApp(join(work, 'apps', CONSUMER));
    const client = app;

    // Warm-up: the consumer reaches the provider and gets receipts before the crash.
    for (let i = 0; i < 5; i++) {
      expect((await fetchOnce(client, systemClock, bulkDataset, PURPOSE)).outcome).toBe('allowed');
    }
    expect((await streamAll(client, systemClock, bulkDataset, PURPOSE)).outcome).toBe('allowed');

    // Load: fetches and whole-dataset streams in a loop until the crash is over.
    let crashed = false;
    const outcomes: string[] = [];
    const worker = async (i: number) => {
      while (!crashed) {
        const got =
          i % 2 === 0
            ? await fetchOnce(client, systemClock, bulkDataset, PURPOSE)
            : await streamAll(client, systemClock, bulkDataset, PURPOSE);
        outcomes.push(got.outcome);
      }
    };
    const load = [0, 1, 2, 3].map(worker);

    // The stream to interrupt: the provider dies once 20 batches of 10 have arrived.
    let killedAt = 0;
    const victim = await streamWatched(client, bulkDataset, (n) => {
      if (n === 20 && killedAt === 0) {
        killedAt = n;
        provider.child.kill('SIGKILL');
      }
    });
    expect(killedAt).toBe(20);
    expect(victim).not.toBe('completed');
    await new Promise((r) => setTimeout(r, 300));
    crashed = true;
    await Promise.all(load);
    expect(outcomes.filter((o) => o === 'allowed').length).toBeGreaterThan(0);

    // Restart: the node continues its chain from the stored head and serves again.
    provider = await start(serve(PROVIDER));
    let after = '';
    for (let i = 0; i < 40 && after !== 'allowed'; i++) {
      after = (await fetchOnce(client, systemClock, bulkDataset, PURPOSE)).outcome;
      if (after !== 'allowed') await new Promise((r) => setTimeout(r, 250));
    }
    expect(after).toBe('allowed');
    expect((await streamAll(client, systemClock, bulkDataset, PURPOSE)).outcome).toBe('allowed');
    app.close();
    app = undefined;
    for (const child of [...children]) await stop(child);

    const verified = await citymesh(['audit', 'verify', PROVIDER, '--json'], work);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ valid: true, problems: [] });

    // Every receipt the consumer holds names the provider's served entry for its exchange.
    const receipts = (await allReceipts(join(work, CONSUMER))).filter((r) => r.role === 'consumer');
    expect(receipts.length).toBeGreaterThan(6);
    const providerStores = openSqliteStores(nodePath(join(work, PROVIDER), 'store'));
    try {
      for (const receipt of receipts) {
        const entry = await providerStores.audit.get(receipt.auditSequence);
        expect(entry, `receipt of ${receipt.correlationId}`).toMatchObject({
          kind: 'exchange.served',
          correlationId: receipt.correlationId,
        });
      }
    } finally {
      await providerStores.close();
    }

    // The auditor's cross-check agrees. The one disagreement a crash may leave is the
    // other way round: an exchange the provider logged whose answer never reached the consumer.
    const cross = await citymesh(['audit', 'verify', CONSUMER, '--against', PROVIDER, '--json'], work);
    const report = JSON.parse(cross.stdout) as {
      receipts: number;
      matched: number;
      problems: { code: string; rule: string }[];
    };
    expect(report.receipts).toBe(receipts.length);
    expect(report.matched).toBe(report.receipts);
    expect(report.problems.filter((p) => p.rule !== 'consumer-entry-missing')).toEqual([]);
  }, 90_000);
});
