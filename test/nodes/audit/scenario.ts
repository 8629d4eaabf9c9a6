import type { ManualClock } from '../../../common/clock.js';
import type { Stores } from '../../../common/stores/index.js';
import { type AuditExport, AuditLog, collectAuditExport, ExchangeAudit } from '../../../nodes/audit/index.js';
import { openMemoryStores } from '../../../stores/index.js';
import { BEIJING, clock, digest, FETCH, newKey, type TestKey, TIANJIN } from './support.js';

/** One node of a scenario: its stores, key, log and exchange evidence. */
export interface TestNode {
  readonly id: string;
  readonly stores: Stores;
  readonly key: TestKey;
  readonly log: AuditLog;
  readonly exchange: ExchangeAudit;
  readonly clock: ManualClock;
  exportNow(): Promise<AuditExport>;
}

export async function openNode(
  id: string,
  options: { stores?: Stores; key?: TestKey; checkpointEvery?: number; clock?: ManualClock } = {},
): Promise<TestNode> {
  const stores = options.stores ?? openMemoryStores();
  const key = options.key ?? (await newKey(stores.keys));
  const c = options.clock ?? clock();
  const log = await AuditLog.open({
    store: stores.audit,
    clock: c,
    signer: key.signer,
    nodeId: id,
    checkpointEvery: options.checkpointEvery ?? 4,
  });
  return {
    id,
    stores,
    key,
    log,
    clock: c,
    exchange: new ExchangeAudit({ log, signer: key.signer, clock: c }),
    exportNow: () => collectAuditExport(stores.audit, { nodeId: id, keys: key.jwks, now: c.now() }),
  };
}

/** One exchange end to end: the provider serves and signs, the consumer verifies and records. */
export async function exchange(consumer: TestNode, provider: TestNode, n: number): Promise<string> {
  const correlationId = `corr-${n}`;
  const facts = {
    correlationId,
    method: FETCH,
    requestHash: digest(`request ${n}`),
    responseDigest: digest(`response ${n}`),
  };
  const { receipt } = await provider.exchange.served({ ...facts, consumerNodeId: consumer.id });
  await consumer.exchange.consumed({ ...facts, providerNodeId: provider.id, providerKeys: provider.key.jwks, receipt });
  return correlationId;
}

/**
 * Tianjin (consumer) fetches from Beijing (provider) `exchanges` times, with a policy
 * decision and an admin action logged around them; both logs are closed (checkpointed).
 */
export async function twoCityScenario(exchanges = 5): Promise<{
  consumer: TestNode;
  provider: TestNode;
  consumerExport: AuditExport;
  providerExport: AuditExport;
}> {
  const shared = clock();
  const consumer = await openNode(TIANJIN, { clock: shared });
  const provider = await openNode(BEIJING, { clock: shared });
  await provider.log.append({
    kind: 'dataset.published',
    actor: 'spiffe://beijing.jjj.citymesh/app/data-office',
    payload: { dataset: 'jjj/beijing/transport/bus-stops' },
  });
  for (let n = 1; n <= exchanges; n++) {
    await consumer.log.append({
      kind: 'decision.made',
      actor: 'spiffe://tianjin.jjj.citymesh/app/bus-planner',
      correlationId: `corr-${n}`,
      payload: { effect: 'allow', policyVersion: '3' },
    });
    shared.advance(1000);
    await exchange(consumer, provider, n);
  }
  await consumer.log.close();
  await provider.log.close();
  shared.advance(1000);
  return { consumer, provider, consumerExport: await consumer.exportNow(), providerExport: await provider.exportNow() };
}
