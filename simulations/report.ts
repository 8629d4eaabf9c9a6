import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One named check of a run: what was verified and whether it held. */
export interface CheckResult {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

/** Latency percentiles in milliseconds and a throughput, for one measured operation. */
export interface OperationMetrics {
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly throughputPerSecond: number;
}

/**
 * The report contract of ARCHITECTURE.md "Contracts": outside tools read these keys, so
 * they are only ever extended, never renamed.
 */
export interface SimulationReport {
  readonly cluster: string;
  readonly cities: readonly string[];
  /** city → city → true when the first verified the second's trust chain. */
  readonly trust: Record<string, Record<string, boolean>>;
  /** city → city → calls that behaved as policy says. */
  readonly interop: Record<string, Record<string, { allowed: number; denied: number }>>;
  readonly checks: readonly CheckResult[];
  readonly metrics: Record<string, OperationMetrics | number>;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly passed: boolean;
}

/** Writes the report as pretty JSON, creating the folder. */
export function writeReport(file: string, report: SimulationReport): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

/** The summary a person reads at the end of a run. */
export function renderSummary(report: SimulationReport): string {
  const lines = [`cluster ${report.cluster}: ${report.cities.join(', ')}`, ''];
  const width = Math.max(...report.checks.map((c) => c.name.length), 5);
  for (const c of report.checks) lines.push(`${c.passed ? 'PASS' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.detail}`);
  const failed = report.checks.filter((c) => !c.passed).length;
  lines.push(
    '',
    `${report.checks.length - failed} passed, ${failed} failed in ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  return `${lines.join('\n')}\n`;
}

/** Latency percentiles of a list of durations (ms) measured over `elapsedMs`. */
export function summarizeLatencies(samplesMs: readonly number[], elapsedMs: number): OperationMetrics {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return {
    count: sorted.length,
    p50Ms: at(0.5),
    p95Ms: at(0.95),
    p99Ms: at(0.99),
    throughputPerSecond: elapsedMs > 0 ? (sorted.length * 1000) / elapsedMs : 0,
  };
}
