import { getCity } from '../../common/ids/index.js';
import type { AppClients } from '../../nodes/index.js';
import { expectThat } from '../checks.js';
import { type CallOutcome, fetchOnce, invokeOnce, streamAll } from '../exchange-phase.js';
import { type CallKind, exchangeModeFor, type PlannedCall, planPair } from '../exchange-plan.js';
import { mapPool } from '../pool.js';
import type { SimulationRun } from '../run-state.js';
import { clusterCatalog } from './catalog.js';

export const PURPOSE = 'cross-city-planning';
/** Pairs in flight in a sampled matrix: enough to keep 27 nodes busy, few enough not to drown 2 cores. */
const SAMPLED_CONCURRENCY = 4;

/** Makes one planned call of `from`'s app to the provider city `to`. */
export function callOnce(run: SimulationRun, app: AppClients, to: string, call: PlannedCall): Promise<CallOutcome> {
  const id = call.entry.id;
  if (call.kind === 'stream') return streamAll(app, run.clock, id, PURPOSE);
  if (call.kind === 'fetch') return fetchOnce(app, run.clock, id, PURPOSE);
  const input = id.endsWith('region-lookup') ? { regionCode: getCity(to).region } : {};
  return invokeOnce(app, run.clock, id, input, PURPOSE);
}

interface PairResult {
  readonly from: string;
  readonly to: string;
  allowed: number;
  denied: number;
  readonly servedKinds: Set<CallKind>;
  readonly wrongAllowed: string[];
  readonly wrongDenied: string[];
}

/**
 * Every ordered pair of serving cities: the consumer's app calls its home node, which
 * forwards to the provider with an exchange grant. Allowed calls must come back with a
 * verified receipt, the others with the refusal the provider's policy names.
 */
export async function exchangePhase(run: SimulationRun): Promise<void> {
  const cities = run.serving();
  const catalog = await clusterCatalog(run);
  const mode = exchangeModeFor(cities.length);
  run.exchangeMode = mode;
  const pairs = cities.flatMap((from) => cities.filter((to) => to !== from).map((to) => ({ from, to })));
  const progress = run.progress.phase('exchange', pairs.length, `pairs (${mode} matrix)`);
  const started = run.clock.nowMs();
  const settled = await mapPool(pairs, mode === 'full' ? 1 : SAMPLED_CONCURRENCY, async ({ from, to }) => {
    const consumers = cities.filter((c) => c !== to);
    const result: PairResult = {
      from,
      to,
      allowed: 0,
      denied: 0,
      servedKinds: new Set(),
      wrongAllowed: [],
      wrongDenied: [],
    };
    for (const call of planPair(catalog.get(to) ?? [], mode, consumers.indexOf(from))) {
      const got = await callOnce(run, run.app(from), to, call);
      const what = `${from}→${to} ${call.kind} ${call.entry.id}: expected ${call.expected}, got ${got.outcome}`;
      if (got.outcome !== call.expected) {
        (call.expected === 'allowed' ? result.wrongAllowed : result.wrongDenied).push(what);
      } else if (call.expected === 'allowed') {
        result.allowed++;
        result.servedKinds.add(call.kind);
        run.latency.add(`exchange.${call.kind}`, got.ms);
      } else {
        result.denied++;
      }
    }
    progress.tick();
    return result;
  });
  const elapsed = run.clock.nowMs() - started;
  for (const kind of ['fetch', 'stream', 'invoke']) run.latency.span(`exchange.${kind}`, elapsed);

  const results = settled.map((s, i) =>
    s.status === 'fulfilled'
      ? s.value
      : {
          ...pairs[i]!,
          allowed: 0,
          denied: 0,
          servedKinds: new Set(),
          wrongAllowed: [String(s.reason)],
          wrongDenied: [],
        },
  );
  for (const r of results) {
    run.interop[r.from] = { ...run.interop[r.from], [r.to]: { allowed: r.allowed, denied: r.denied } };
    const wrong = r.wrongAllowed.length + r.wrongDenied.length;
    if (wrong > 0) run.interopWrong[r.from] = { ...run.interopWrong[r.from], [r.to]: wrong };
  }
  run.snapshotRss('afterExchange');
  progress.done();

  await run.checks.check('exchange.every-pair', () => {
    const wrong = results.flatMap((r) => r.wrongAllowed);
    const incomplete = results.filter((r) => r.servedKinds.size < 3).map((r) => `${r.from}→${r.to}`);
    expectThat(wrong.length === 0, `${wrong.length} calls failed: ${wrong.slice(0, 5).join('; ')}`);
    expectThat(incomplete.length === 0, `no fetch, stream and invoke served for ${incomplete.slice(0, 5).join(', ')}`);
    const allowed = results.reduce((n, r) => n + r.allowed, 0);
    return `${results.length} ordered pairs (${mode} matrix): each fetched, streamed and invoked; ${allowed} calls served with verified receipts`;
  });
  await run.checks.check('policy.denials', () => {
    const wrong = results.flatMap((r) => r.wrongDenied);
    expectThat(wrong.length === 0, `${wrong.length} calls not refused as policy says: ${wrong.slice(0, 5).join('; ')}`);
    const denied = results.reduce((n, r) => n + r.denied, 0);
    expectThat(denied >= results.length, `only ${denied} refusals for ${results.length} pairs`);
    return `${denied} calls refused as the providers' policies say (POLICY_DENIED for internal data, AGREEMENT_REQUIRED for sensitive, restricted and agreement-bound data)`;
  });
}
