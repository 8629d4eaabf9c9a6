import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import type { BenchContext, BenchResult, BenchSuite } from './result.js';
import { formatTable } from './table.js';
import { contractViolation } from './validate.js';

/** What `--json` writes: the contract's `results`, plus facts about the run. */
export interface BenchReport {
  readonly results: readonly BenchResult[];
  readonly node: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly startedAt: string;
  readonly durationMs: number;
  /**
   * The OS load averages (1, 5, 15 min) before and after: on a shared machine, a load
   * above the core count explains absolute figures far off their usual values.
   */
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  /** Present (true) only for `--quick`: the figures are a smoke run, not measurements. */
  readonly quick?: true;
  /** Suites that crashed, with why; their results are missing. */
  readonly failed?: readonly { readonly suite: string; readonly error: string }[];
}

export interface RunBenchIo {
  readonly suites: readonly BenchSuite[];
  readonly stdout?: { write(text: string): unknown };
  readonly stderr?: { write(text: string): unknown };
}

interface Selected {
  readonly suite: BenchSuite;
  /** Results to keep, or undefined for all of them. */
  readonly prefixes: readonly string[] | undefined;
}

/**
 * `--only` prefixes pick suites by their own name (`audit` runs `audit.append`), or
 * results within a suite (`bench.harness.p99` runs `bench.harness` and keeps that one).
 */
export function selectSuites(suites: readonly BenchSuite[], prefixes: readonly string[]): Selected[] {
  if (prefixes.length === 0) return suites.map((suite) => ({ suite, prefixes: undefined }));
  const selected: Selected[] = [];
  for (const suite of suites) {
    if (prefixes.some((p) => suite.name.startsWith(p))) selected.push({ suite, prefixes: undefined });
    else {
      const narrower = prefixes.filter((p) => p.startsWith(`${suite.name}.`));
      if (narrower.length > 0) selected.push({ suite, prefixes: narrower });
    }
  }
  return selected;
}

/**
 * The benchmark command: runs the suites, prints the table on stdout (progress on
 * stderr), writes the JSON report atomically. Resolves with the exit code: 0 whether or
 * not goals are met (benchmarks report, they do not gate), 1 when a suite crashed or
 * broke the contract, 2 on a usage error.
 */
export async function runBench(args: readonly string[], io: RunBenchIo): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const program = new Command('bench')
    .description('citymesh benchmarks: every result measured against its baseline in the same run')
    .option('--json <file>', 'write the results as JSON to <file>')
    .option('--only <prefixes>', 'comma-separated prefixes of suite or result names to run')
    .option('--quick', 'small sizes: a smoke run of the bench code, marked quick in the JSON')
    .option('--list', 'list the suites and exit')
    .exitOverride()
    .configureOutput({ writeOut: (s) => stdout.write(s), writeErr: (s) => stderr.write(s) });
  try {
    program.parse([...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  const options = program.opts<{ json?: string; only?: string; quick?: boolean; list?: boolean }>();
  if (options.list) {
    for (const suite of io.suites) stdout.write(`${suite.name}\n`);
    return 0;
  }
  const prefixes = (options.only ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  const selected = selectSuites(io.suites, prefixes);
  if (selected.length === 0) {
    stderr.write(
      `bench: no suite matches --only ${options.only}; suites: ${io.suites.map((s) => s.name).join(', ')}\n`,
    );
    return 2;
  }

  const quick = options.quick === true;
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const started = performance.now();
  const results: BenchResult[] = [];
  const failed: { suite: string; error: string }[] = [];
  const workDir = mkdtempSync(join(tmpdir(), 'citymesh-bench-'));
  // One context for the whole run: suites that share a baseline (the grpc echo) find
  // it measured once per run through it.
  const context: BenchContext = { workDir, quick, progress: (message) => stderr.write(`  ${message}\n`) };
  try {
    for (const { suite, prefixes: keep } of selected) {
      stderr.write(`bench: ${suite.name}${quick ? ' (quick)' : ''}\n`);
      try {
        const produced = await suite.run(context);
        const broken = produced.map(contractViolation).find((v) => v !== undefined);
        if (broken !== undefined) throw new Error(`broke the result contract: ${broken}`);
        const duplicate = produced.find((r) => results.some((seen) => seen.name === r.name));
        if (duplicate !== undefined) throw new Error(`result ${duplicate.name} was already reported`);
        results.push(...produced.filter((r) => keep === undefined || keep.some((p) => r.name.startsWith(p))));
      } catch (error) {
        failed.push({ suite: suite.name, error: error instanceof Error ? error.message : String(error) });
        stderr.write(`bench: suite ${suite.name} crashed: ${describe(error)}\n`);
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }

  const report: BenchReport = {
    results,
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    loadAverage: { start: loadAtStart, end: loadavg() },
    ...(quick ? { quick: true as const } : {}),
    ...(failed.length > 0 ? { failed } : {}),
  };
  stdout.write(formatTable(results));
  if (options.json !== undefined) {
    writeJsonAtomically(resolve(options.json), report);
    stderr.write(`bench: wrote ${options.json}\n`);
  }
  if (failed.length > 0) {
    stderr.write(`bench: ${failed.length} suite(s) crashed: ${failed.map((f) => f.suite).join(', ')}\n`);
    return 1;
  }
  return 0;
}

/** Readers never see a half-written report: write a sibling, then rename over. */
function writeJsonAtomically(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`);
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : '';
  return `${error.stack ?? error.message}${cause}`;
}
