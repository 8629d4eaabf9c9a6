/**
 * The benchmark JSON contract of ARCHITECTURE.md: every result is measured against its
 * baseline in the same run, and `ratio = value / baselineValue`.
 */

/** Times and latencies in `ns`, `us`, `ms` or `s`; rates in `1/s`; memory in `MB` (MiB, as /proc reports). */
export type BenchUnit = 'ns' | 'us' | 'ms' | 's' | '1/s' | 'MB';

/** One line of `{results: [...]}`. */
export interface BenchResult {
  /** The name the issue gives (`audit.append.rate`). */
  readonly name: string;
  readonly value: number;
  readonly unit: BenchUnit;
  /** What the baseline measured (`sqlite.wal.insert`). */
  readonly baseline: string;
  /** The baseline, in the same unit, measured in the same run. */
  readonly baselineValue: number;
  readonly ratio: number;
  /** The goal, for the table: e.g. `ratio >= 0.33` or `value >= 50000`. */
  readonly goal?: string;
  /** Whether the goal was met in this run. */
  readonly goalMet?: boolean;
}

/** What a suite gets from the runner. */
export interface BenchContext {
  /** A scratch folder the runner removes afterwards. */
  readonly workDir: string;
  /** `--quick`: smaller sizes, for smoke tests of the bench code itself. */
  readonly quick: boolean;
  /** Progress lines for people (stderr). */
  progress(message: string): void;
}

/** A group of results measured together (sharing setup). */
export interface BenchSuite {
  readonly name: string;
  run(context: BenchContext): Promise<readonly BenchResult[]>;
}

/** Builds a result, computing the ratio and checking a goal on `value` or `ratio`. */
export function benchResult(input: {
  name: string;
  value: number;
  unit: BenchUnit;
  baseline: string;
  baselineValue: number;
  goal?: { on: 'value' | 'ratio'; op: '>=' | '<='; target: number };
}): BenchResult {
  const ratio = input.baselineValue === 0 ? Number.NaN : input.value / input.baselineValue;
  const base = {
    name: input.name,
    value: input.value,
    unit: input.unit,
    baseline: input.baseline,
    baselineValue: input.baselineValue,
    ratio,
  };
  if (input.goal === undefined) return base;
  const measured = input.goal.on === 'value' ? input.value : ratio;
  const goalMet = input.goal.op === '>=' ? measured >= input.goal.target : measured <= input.goal.target;
  return { ...base, goal: `${input.goal.on} ${input.goal.op} ${input.goal.target}`, goalMet };
}
