import type { AppClients } from '../../nodes/index.js';
import { expectThat } from '../checks.js';
import { type CallOutcome, fetchOnce } from '../exchange-phase.js';
import { mapPool, sleep } from '../pool.js';
import type { SimulationRun } from '../run-state.js';
import { SAMPLE_DATASETS } from '../samples/index.js';
import { PURPOSE } from './exchange.js';

const OPEN = SAMPLE_DATASETS.find((d) => d.classification === 'public' && !d.requiresAgreement)!;

/** The id of a public dataset every city publishes, of `city`. */
export function openDataset(run: SimulationRun, city: string): string {
  return `${run.init.cluster}/${city}/${OPEN.ownerOrg}/${OPEN.name}`;
}

/** `metadata version N` as the anchor's commands print it. */
export function versionIn(output: string): number {
  const match = /version"?:?\s*(\d+)/i.exec(output);
  if (!match) throw new Error(`no metadata version in: ${output.trim()}`);
  return Number(match[1]);
}

/**
 * Each of `cities` fetches a public dataset from the next one around the ring (the
 * last from the first): every node is exercised once as consumer and once as provider.
 */
export async function ringFetch(
  run: SimulationRun,
  cities: readonly string[],
): Promise<{ from: string; to: string; got: CallOutcome }[]> {
  const pairs = cities.map((from, i) => ({ from, to: cities[(i + 1) % cities.length]! }));
  const settled = await mapPool(pairs, 4, async ({ from, to }) => ({
    from,
    to,
    got: await fetchOnce(run.app(from), run.clock, openDataset(run, to), PURPOSE),
  }));
  return settled.map((s, i) =>
    s.status === 'fulfilled' ? s.value : { ...pairs[i]!, got: { outcome: String(s.reason), ms: 0 } },
  );
}

/** Fails unless every ring fetch was served; else names the ones that were not. */
export function expectRingServed(results: readonly { from: string; to: string; got: CallOutcome }[]): void {
  const failed = results.filter((r) => r.got.outcome !== 'allowed');
  expectThat(failed.length === 0, `not served: ${failed.map((r) => `${r.from}→${r.to} ${r.got.outcome}`).join('; ')}`);
}

/** A node back from a crash or a freeze is dialled again once the peers' reconnect backoff allows. */
export const SERVES_AGAIN_WITHIN_MS = 20_000;

/** Retries a fetch until it is served or {@link SERVES_AGAIN_WITHIN_MS} pass; resolves with the last outcome. */
export async function fetchUntilServed(run: SimulationRun, app: AppClients, datasetId: string): Promise<string> {
  const until = run.clock.nowMs() + SERVES_AGAIN_WITHIN_MS;
  let outcome = '';
  while (run.clock.nowMs() < until) {
    outcome = (await fetchOnce(app, run.clock, datasetId, PURPOSE, 5_000)).outcome;
    if (outcome === 'allowed') break;
    await sleep(250);
  }
  return outcome;
}
