import type { Rule } from './columns.js';
import { describeRule } from './describe.js';
import type { PolicySnapshot } from './snapshot.js';
import type { PolicyDecision, PolicyRequest } from './types.js';

/** One rule of the request's shard, evaluated column by column. */
export interface RuleEvaluation {
  readonly rule: string;
  readonly effect: 'allow' | 'deny';
  readonly file: string;
  readonly line: number;
  readonly matched: boolean;
  /** Every column that did not match, with why (empty when matched). */
  readonly failed: readonly { readonly column: string; readonly reason: string }[];
  readonly sentence: string;
}

export interface Explanation {
  readonly decision: PolicyDecision;
  /** The rule that decided; undefined for default deny. */
  readonly decidedBy?: Rule;
  /** Every rule that could apply (the shard), in file order; rules outside it differ in action, industry or city. */
  readonly evaluated: readonly RuleEvaluation[];
  readonly rulesInSet: number;
  /** The plain Casbin enforcer's verdict on the same request, when asked for. */
  readonly reference?: { readonly allowed: boolean; readonly rule: string; readonly agrees: boolean };
}

/**
 * Which rule decided a request and why each other candidate did not. Evaluates every
 * column of every rule of the shard (no short cut), so it costs more than `decide`.
 * `withReference` also asks the plain Casbin enforcer (slow with thousands of rules).
 */
export function explain(
  snapshot: PolicySnapshot,
  request: PolicyRequest,
  options: { readonly withReference?: boolean } = {},
): Explanation {
  const decision = snapshot.decide(request);
  const evaluated = snapshot.shardFor(request).all.map(({ rule, conditions }) => {
    const failed = conditions
      .filter((c) => !c.test(request))
      .map((c) => ({ column: c.column, reason: c.whyNot(request) }));
    return Object.freeze({
      rule: rule.id,
      effect: rule.effect,
      file: rule.file,
      line: rule.line,
      matched: failed.length === 0,
      failed: Object.freeze(failed),
      sentence: describeRule(rule),
    });
  });
  const decidedBy = snapshot.compiled(decision.rule)?.rule;
  const base = { decision, evaluated: Object.freeze(evaluated), rulesInSet: snapshot.rules.length };
  const withRule = decidedBy === undefined ? base : { ...base, decidedBy };
  if (options.withReference !== true) return Object.freeze(withRule);
  const reference = snapshot.decideByReference(request);
  return Object.freeze({ ...withRule, reference: { ...reference, agrees: reference.allowed === decision.allowed } });
}
