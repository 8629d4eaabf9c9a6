import type { CheckResult } from './report.js';

/**
 * Records named checks as a run goes. A check that throws is recorded as failed with the
 * error's message (and code, for a MeshError) instead of stopping the run, so one report
 * shows every failure at once.
 */
export class CheckRecorder {
  readonly #results: CheckResult[] = [];
  readonly #onResult: (result: CheckResult) => void;

  constructor(onResult: (result: CheckResult) => void = () => {}) {
    this.#onResult = onResult;
  }

  /** Runs `fn`; it returns the detail text on success or throws to fail. */
  async check(name: string, fn: () => Promise<string> | string): Promise<boolean> {
    let result: CheckResult;
    try {
      result = { name, passed: true, detail: await fn() };
    } catch (err) {
      const code = typeof err === 'object' && err !== null && 'code' in err ? ` [${String(err.code)}]` : '';
      result = { name, passed: false, detail: `${err instanceof Error ? err.message : String(err)}${code}` };
    }
    this.#results.push(result);
    this.#onResult(result);
    return result.passed;
  }

  get results(): readonly CheckResult[] {
    return this.#results;
  }

  get passed(): boolean {
    return this.#results.every((r) => r.passed);
  }
}

/** Throws with `message` unless `condition` holds: the assertion of a check body. */
export function expectThat(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}
