import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LatencyHistogram } from './latency.js';

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

/** A city of the run as the bundled cluster names it. */
export interface ReportCity {
  readonly id: string;
  /** Its Chinese name (`北京`). */
  readonly name: string;
  /** Its GB/T 2260 code. */
  readonly region: string;
}

/** Wall time of one scenario and how its checks went. */
export interface PhaseTiming {
  readonly name: string;
  readonly ms: number;
  readonly checks: number;
  readonly failed: number;
}

/** What a node reported about itself at the end (gossip fields when it gossips). */
export interface NodeSummary {
  readonly pid?: number;
  readonly metadataVersion?: number;
  readonly metadataSource?: string;
  readonly gossipPeerId?: string;
  readonly gossipConnectedPeers?: number;
  readonly catalogNotices?: number;
}

/**
 * The report contract of ARCHITECTURE.md "Contracts": outside tools read these keys, so
 * they are only ever extended, never renamed. Everything after `passed` is an extension.
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
  /** The cluster's full name. */
  readonly clusterName: string;
  readonly cityInfo: readonly ReportCity[];
  /** Scenarios run, in order. */
  readonly scenarios: readonly string[];
  /** Drills (`wrong-anchor-key=<city>`). */
  readonly faults: readonly string[];
  /** city → city → why the first could not verify the second (only refused pairs). */
  readonly trustFailures: Record<string, Record<string, string>>;
  /** city → city → calls that did NOT behave as policy says. */
  readonly interopWrong: Record<string, Record<string, number>>;
  /** `full`: every entry per pair; `sampled`: fetch, stream, invoke and a denial per pair. */
  readonly exchangeMode?: 'full' | 'sampled';
  /** Latency distributions per operation, for charts. */
  readonly latency: Record<string, LatencyHistogram>;
  /** The revoked city, and per other node how long (ms) after the revoking version was signed it held it. */
  readonly revoked?: string;
  readonly revocationReach: Record<string, number>;
  /** Resident memory (MB) per node process, after the exchange and at the end. */
  readonly rss: { readonly afterExchange: Record<string, number>; readonly end: Record<string, number> };
  readonly phases: readonly PhaseTiming[];
  readonly nodes: Record<string, NodeSummary>;
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
