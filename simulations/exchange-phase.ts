import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../common/clock.js';
import { fromServiceError } from '../common/errors/grpc.js';
import { isMeshError } from '../common/errors/index.js';
import { type AppClients, unaryCall } from '../nodes/index.js';
import type { InvokeCapabilityResponse } from '../proto/gen/citymesh/v1/capability_service.js';
import type { SearchCatalogResponse } from '../proto/gen/citymesh/v1/catalog_service.js';
import { CatalogEntry as ProtoEntry } from '../proto/gen/citymesh/v1/common.js';
import type { FetchRecordsResponse, StreamRecordsResponse } from '../proto/gen/citymesh/v1/dataset_service.js';

const call = unaryCall;

/** No simulated call may hang a run: every one ends by this deadline at the latest. */
export const CALL_DEADLINE_MS = 30_000;

const callOptions = (deadlineMs: number) => ({ deadline: Date.now() + deadlineMs });

/** One catalog entry as the simulation plans calls against it. */
export interface PlannedEntry {
  readonly id: string;
  readonly kind: 'dataset' | 'capability';
  readonly classification: string;
  readonly agreementRequired: boolean;
  readonly industry: string;
}

/** What the providing city's default policy answers a member city with no grant and no agreement. */
export function expectedOutcome(entry: PlannedEntry): 'allowed' | 'AGREEMENT_REQUIRED' | 'POLICY_DENIED' {
  if (entry.agreementRequired || entry.classification === 'sensitive' || entry.classification === 'restricted') {
    return 'AGREEMENT_REQUIRED';
  }
  return entry.classification === 'public' ? 'allowed' : 'POLICY_DENIED';
}

/** The cluster's catalog as one app sees it through its home node: entries by city. */
export async function searchCluster(
  app: AppClients,
  industry = '',
  cities: readonly string[] = [],
): Promise<{ byCity: Map<string, PlannedEntry[]>; answered: string[]; unanswered: string[] }> {
  const res = await call<SearchCatalogResponse>((cb) =>
    app.catalog.searchCatalog(
      {
        query: '',
        kind: 0,
        industry,
        regionCode: '',
        maxClassification: 0,
        cities: [...cities],
        pageSize: 1000,
        pageToken: '',
      },
      new grpc.Metadata(),
      callOptions(CALL_DEADLINE_MS),
      cb,
    ),
  );
  const byCity = new Map<string, PlannedEntry[]>();
  for (const entry of res.entries) {
    const json = ProtoEntry.toJSON(entry) as { classification?: string; kind?: string };
    const id = entry.id.split('@')[0]!;
    const city = id.split('/')[1]!;
    const planned: PlannedEntry = {
      id,
      kind: json.kind === 'ENTRY_KIND_CAPABILITY' ? 'capability' : 'dataset',
      classification: String(json.classification ?? '')
        .replace('CLASSIFICATION_', '')
        .toLowerCase(),
      agreementRequired: entry.agreementRequired,
      industry: entry.industry,
    };
    byCity.set(city, [...(byCity.get(city) ?? []), planned]);
  }
  return {
    byCity,
    answered: res.answeredCities,
    unanswered: res.unansweredCities.map((u) => `${u.city} (${u.message})`),
  };
}

/** A timed call and how it ended. */
export interface CallOutcome {
  readonly outcome: string;
  readonly ms: number;
  readonly records?: number;
}

async function timed(clock: Clock, work: () => Promise<number | undefined>): Promise<CallOutcome> {
  const t0 = clock.nowMs();
  try {
    const records = await work();
    return { outcome: 'allowed', ms: clock.nowMs() - t0, ...(records === undefined ? {} : { records }) };
  } catch (err) {
    return { outcome: isMeshError(err) ? err.code : String(err), ms: clock.nowMs() - t0 };
  }
}

export function fetchOnce(
  app: AppClients,
  clock: Clock,
  datasetId: string,
  purpose: string,
  deadlineMs = CALL_DEADLINE_MS,
): Promise<CallOutcome> {
  return timed(clock, async () => {
    const res = await call<FetchRecordsResponse>((cb) =>
      app.datasets.fetchRecords(
        { datasetId, purpose, afterSequence: 0, agreementId: '', pageSize: 100, pageToken: '' },
        new grpc.Metadata(),
        callOptions(deadlineMs),
        cb,
      ),
    );
    if (res.receipt === undefined) throw new Error('no receipt');
    return res.records.length;
  });
}

export function streamAll(
  app: AppClients,
  clock: Clock,
  datasetId: string,
  purpose: string,
  deadlineMs = CALL_DEADLINE_MS,
): Promise<CallOutcome> {
  return timed(clock, async () => {
    const stream = app.datasets.streamRecords(
      { datasetId, purpose, afterSequence: 0, agreementId: '', maxRecords: 0, batchSize: 10 },
      new grpc.Metadata(),
      callOptions(deadlineMs),
    );
    let records = 0;
    let receipts = 0;
    try {
      for await (const message of stream as AsyncIterable<StreamRecordsResponse>) {
        if (message.item?.$case === 'batch') records += message.item.batch.records.length;
        if (message.item?.$case === 'receipt') receipts++;
      }
    } catch (err) {
      throw fromServiceError(err as grpc.ServiceError);
    }
    if (receipts !== 1) throw new Error(`stream ended with ${receipts} receipts`);
    return records;
  });
}

export function invokeOnce(
  app: AppClients,
  clock: Clock,
  capabilityId: string,
  input: unknown,
  purpose: string,
  deadlineMs = CALL_DEADLINE_MS,
): Promise<CallOutcome> {
  return timed(clock, async () => {
    const res = await call<InvokeCapabilityResponse>((cb) =>
      app.capabilities.invokeCapability(
        { capabilityId, method: '', input: Buffer.from(JSON.stringify(input)), purpose, agreementId: '' },
        new grpc.Metadata(),
        callOptions(deadlineMs),
        cb,
      ),
    );
    if (res.receipt === undefined) throw new Error('no receipt');
    JSON.parse(res.output.toString());
    return undefined;
  });
}
