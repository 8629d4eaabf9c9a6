import type { BenchResult, BenchUnit } from './result.js';

const UNITS: ReadonlySet<BenchUnit> = new Set(['ns', 'us', 'ms', 's', '1/s', 'MB']);

/**
 * Why a result breaks the contract, or undefined when it keeps it. The runner checks
 * every result, so a suite that returns garbage fails loudly instead of publishing it.
 */
export function contractViolation(result: BenchResult): string | undefined {
  if (typeof result.name !== 'string' || result.name.length === 0) return 'name must be a non-empty string';
  const label = `result ${result.name}`;
  if (!UNITS.has(result.unit)) return `${label}: unit ${String(result.unit)} is not one of ${[...UNITS].join(', ')}`;
  if (typeof result.baseline !== 'string' || result.baseline.length === 0) return `${label}: baseline is empty`;
  for (const field of ['value', 'baselineValue', 'ratio'] as const) {
    if (typeof result[field] !== 'number' || !Number.isFinite(result[field])) {
      return `${label}: ${field} must be a finite number, got ${String(result[field])}`;
    }
  }
  const expected = result.value / result.baselineValue;
  if (Math.abs(result.ratio - expected) > 1e-9 * Math.max(1, Math.abs(expected))) {
    return `${label}: ratio ${result.ratio} is not value / baselineValue (${expected})`;
  }
  return undefined;
}
