import type { BenchResult } from './result.js';

/** Three significant digits below 1,000; whole numbers with separators above. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(3)).toString();
}

const HEADER = ['name', 'value', 'baseline', 'baseline value', 'ratio', 'goal', 'met'] as const;

/** The results as an aligned plain-text table (what `npm run bench` prints). */
export function formatTable(results: readonly BenchResult[]): string {
  if (results.length === 0) return '(no results)\n';
  const rows = results.map((r) => [
    r.name,
    `${formatNumber(r.value)} ${r.unit}`,
    r.baseline,
    `${formatNumber(r.baselineValue)} ${r.unit}`,
    formatNumber(r.ratio),
    r.goal ?? '-',
    r.goalMet === undefined ? '-' : r.goalMet ? 'yes' : 'NO',
  ]);
  const all = [[...HEADER], ...rows];
  const widths = HEADER.map((_, column) => Math.max(...all.map((row) => row[column]!.length)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [line(all[0]!), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}
