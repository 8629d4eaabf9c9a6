import { expectedOutcome, type PlannedEntry } from './exchange-phase.js';

/**
 * Up to this many cities every ordered pair calls every entry of the provider (the
 * full matrix: 13 calls a pair with the sample catalog). Above it each pair makes one
 * fetch, one stream, one invocation and one call policy refuses, rotating through the
 * entries so every entry of every provider is still called by some consumer: 27 cities
 * are 702 pairs, and the full matrix would be 9,126 calls.
 */
export const FULL_MATRIX_MAX_CITIES = 6;

export type ExchangeMode = 'full' | 'sampled';
export type CallKind = 'fetch' | 'stream' | 'invoke';

/** One call the consumer of a pair makes, and what the provider's policy should answer. */
export interface PlannedCall {
  readonly kind: CallKind;
  readonly entry: PlannedEntry;
  readonly expected: ReturnType<typeof expectedOutcome>;
}

export function exchangeModeFor(cities: number): ExchangeMode {
  return cities <= FULL_MATRIX_MAX_CITIES ? 'full' : 'sampled';
}

const callFor = (entry: PlannedEntry, kind?: CallKind): PlannedCall => ({
  kind: kind ?? (entry.kind === 'capability' ? 'invoke' : 'fetch'),
  entry,
  expected: expectedOutcome(entry),
});

/**
 * The calls of one ordered pair against the provider's `entries`. `pairIndex` (the
 * pair's position among the provider's consumers) picks which entries a sampled pair
 * calls, so consecutive consumers cover different ones.
 */
export function planPair(entries: readonly PlannedEntry[], mode: ExchangeMode, pairIndex: number): PlannedCall[] {
  const datasets = entries.filter((e) => e.kind === 'dataset');
  const capabilities = entries.filter((e) => e.kind === 'capability');
  const open = datasets.filter((e) => expectedOutcome(e) === 'allowed');
  if (mode === 'full') {
    return [
      ...datasets.flatMap((e) => [callFor(e), ...(expectedOutcome(e) === 'allowed' ? [callFor(e, 'stream')] : [])]),
      ...capabilities.map((e) => callFor(e)),
    ];
  }
  const pick = <T>(list: readonly T[], offset = 0): T[] =>
    list.length === 0 ? [] : [list[(pairIndex + offset) % list.length]!];
  const openCapabilities = capabilities.filter((e) => expectedOutcome(e) === 'allowed');
  const refused = entries.filter((e) => expectedOutcome(e) !== 'allowed');
  return [
    ...pick(open).map((e) => callFor(e, 'fetch')),
    ...pick(open, 1).map((e) => callFor(e, 'stream')),
    ...pick(openCapabilities).map((e) => callFor(e, 'invoke')),
    ...pick(refused).map((e) => callFor(e)),
  ];
}
