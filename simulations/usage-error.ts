import { didYouMean } from '../common/config/index.js';

/** A `citymesh simulate` option that is wrong: the message names the option and what it accepts. */
export class SimulationUsageError extends Error {
  override readonly name = 'SimulationUsageError';
}

/** ` (did you mean "x"?)` when one of `known` is close to `given`, else nothing. */
export function suggest(given: string, known: readonly string[]): string {
  const close = didYouMean(given, known);
  return close === undefined ? '' : ` (did you mean "${close}"?)`;
}
