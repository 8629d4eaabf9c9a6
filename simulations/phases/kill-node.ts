import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { fromServiceError } from '../../common/errors/grpc.js';
import { isMeshError } from '../../common/errors/index.js';
import type { AppClients } from '../../nodes/index.js';
import type { StreamRecordsResponse } from '../../proto/gen/citymesh/v1/dataset_service.js';
import { expectThat } from '../checks.js';
import { CALL_DEADLINE_MS, streamAll } from '../exchange-phase.js';
import { readNodeStatus } from '../node-status.js';
import { mapPool } from '../pool.js';
import { runCli, runCliSession } from '../processes.js';
import type { SimulationRun } from '../run-state.js';
import { writeBulkDataset } from '../samples/index.js';
import { PURPOSE } from './exchange.js';
import { fetchUntilServed } from './ring.js';

/** Enough records that a stream of batches of 10 is far from done when the provider dies. */
const BULK_RECORDS = 3_000;
const KILL_AT_BATCH = 20;
/** The consumer must hear of the crash this soon: a clean error, not a hang. */
const ERROR_WITHIN_MS = 10_000;

/** Streams `datasetId`, calling `onBatch` after each batch; resolves with how and when it ended. */
async function watchedStream(
  run: SimulationRun,
  app: AppClients,
  datasetId: string,
  onBatch: (n: number) => void,
): Promise<{ outcome: string; endedAtMs: number }> {
  const stream = app.datasets.streamRecords(
    { datasetId, purpose: PURPOSE, afterSequence: 0, agreementId: '', maxRecords: 0, batchSize: 10 },
    new grpc.Metadata(),
    { deadline: Date.now() + CALL_DEADLINE_MS },
  );
  let batches = 0;
  try {
    for await (const message of stream as AsyncIterable<StreamRecordsResponse>) {
      if (message.item?.$case === 'batch') onBatch(++batches);
    }
    return { outcome: 'completed', endedAtMs: run.clock.nowMs() };
  } catch (err) {
    const mesh = fromServiceError(err as grpc.ServiceError);
    return { outcome: isMeshError(mesh) ? mesh.code : String(err), endedAtMs: run.clock.nowMs() };
  }
}

/**
 * `kill -9` of a provider while a consumer streams from it: the consumer's stream ends
 * with a clean error soon after, not a hang; the provider restarts on its store, serves
 * every city again, and its audit chain still verifies.
 */
export async function killNodePhase(run: SimulationRun): Promise<void> {
  const cities = run.serving();
  const victim = cities.at(-1)!;
  const consumer = cities[0]!;
  const progress = run.progress.phase('kill-node');
  let datasetId = '';
  await run.checks.check('kill-node.stream-ends-cleanly', async () => {
    const files = writeBulkDataset(join(run.work, 'samples', victim), run.init.cluster, victim, BULK_RECORDS);
    datasetId = files.datasetId;
    await runCliSession(
      [
        ['catalog', 'publish', files.manifest, '--dir', victim],
        ['datasets', 'import', datasetId, files.records, '--dir', victim, '--id-field', 'id'],
      ],
      run.work,
    );
    progress.note(`${victim} published ${BULK_RECORDS} bus arrivals; ${consumer} streams them`);
    let killedAtMs = 0;
    let killed: Promise<void> | undefined;
    const ended = await watchedStream(run, run.app(consumer), datasetId, (n) => {
      if (n !== KILL_AT_BATCH) return;
      killedAtMs = run.clock.nowMs();
      killed = run.killNode(victim);
    });
    await killed;
    expectThat(killedAtMs > 0, `the stream ended (${ended.outcome}) before ${KILL_AT_BATCH} batches`);
    const afterMs = ended.endedAtMs - killedAtMs;
    expectThat(ended.outcome !== 'completed', 'the stream completed although its provider was killed');
    expectThat(afterMs <= ERROR_WITHIN_MS, `the consumer heard of the crash only after ${afterMs} ms`);
    expectThat(ended.outcome === 'PEER_UNAVAILABLE', `the stream ended with ${ended.outcome}, not PEER_UNAVAILABLE`);
    run.latency.add('kill-node.error', afterMs);
    return `${victim} killed with SIGKILL after ${KILL_AT_BATCH} batches: ${consumer}'s stream ended with PEER_UNAVAILABLE ${afterMs} ms later`;
  });
  await run.checks.check('kill-node.restarted', async () => {
    expectThat(datasetId !== '', 'nothing to stream: the bulk dataset was not published');
    const t0 = run.clock.nowMs();
    const pid = run.pid(victim) ?? (await run.startNode(victim));
    const startedMs = run.clock.nowMs() - t0;
    const others = cities.filter((c) => c !== victim);
    const served = await mapPool(others, 4, (city) => fetchUntilServed(run, run.app(city), datasetId));
    const refused = others.filter((_, i) => {
      const s = served[i]!;
      return s.status !== 'fulfilled' || s.value !== 'allowed';
    });
    expectThat(refused.length === 0, `not served again by ${victim}: ${refused.join(', ')}`);
    const stream = await streamAll(run.app(consumer), run.clock, datasetId, PURPOSE);
    expectThat(stream.outcome === 'allowed', `a full stream after the restart ended with ${stream.outcome}`);
    // Said, not checked: whether the restarted node is back on the gossip mesh yet.
    const status = await readNodeStatus(run.app(victim)).catch(() => undefined);
    const gossip =
      status?.gossipConnectedPeers === undefined ? '' : `; ${status.gossipConnectedPeers} gossip peers connected`;
    return `${victim} restarted in ${startedMs} ms (process ${pid}); ${others.length} cities fetch from it again; a full stream of ${stream.records} records with its receipt in ${stream.ms} ms${gossip}`;
  });
  await run.checks.check('kill-node.audit-verifies', async () => {
    const report = JSON.parse(await runCli(['audit', 'verify', victim, '--json'], run.work)) as {
      valid?: boolean;
      entries?: number;
    };
    expectThat(report.valid === true, `${victim}'s audit chain does not verify after the crash`);
    return `${victim}'s hash chain, checkpoints and receipts verify after kill -9 and restart (${report.entries ?? '?'} entries)`;
  });
  progress.done();
}
