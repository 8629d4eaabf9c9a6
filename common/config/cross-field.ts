import type { z } from 'zod';

/** One violation of a cross-field check: where, and what is wrong. */
export interface CrossFieldViolation {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * A named check across several fields ("feature X needs feature Y"). The rule name is
 * stable and is what `details.rule` carries, so callers and tests can branch on it.
 */
export interface CrossFieldCheck<T> {
  readonly rule: string;
  /** Every violation found; empty when the config passes. */
  readonly check: (config: T) => readonly CrossFieldViolation[];
}

/**
 * Runs a table of named checks as one zod `superRefine`, reporting each violation with
 * its rule in `params.rule`. The checks run only once every field is valid, so each may
 * rely on the types and rules of its fields (zod alone would still run them after a
 * field's own refinement failed).
 */
export function crossFieldChecks<T>(
  checks: readonly CrossFieldCheck<T>[],
): (config: T, ctx: z.RefinementCtx<T>) => void {
  return (config, ctx) => {
    if (ctx.issues.length > 0) return;
    for (const { rule, check } of checks) {
      for (const violation of check(config)) {
        ctx.addIssue({ code: 'custom', path: [...violation.path], message: violation.message, params: { rule } });
      }
    }
  };
}
