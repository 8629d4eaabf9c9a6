import { COLUMNS, type Rule } from './columns.js';
import { describeChange } from './describe.js';
import type { PolicySnapshot } from './snapshot.js';

export interface RuleChange {
  readonly kind: 'added' | 'removed' | 'changed';
  readonly rule: string;
  readonly before?: Rule;
  readonly after?: Rule;
  /** Columns whose cells differ (changed rules only). */
  readonly columns: readonly string[];
  /** What the change means for people, one sentence each. */
  readonly sentences: readonly string[];
}

export interface PolicyDiff {
  readonly from: string;
  readonly to: string;
  readonly changes: readonly RuleChange[];
  readonly modelChanged: boolean;
  readonly samplesChanged: boolean;
  /** Every sentence, in the order of the changes, then model and samples notes. */
  readonly sentences: readonly string[];
}

const where = (rule: Rule) => `rule ${rule.id}, ${rule.file}:${rule.line}`;

/** What adding or removing one rule does to whom. */
function effectOf(rule: Rule, kind: 'added' | 'removed'): string {
  if (rule.effect === 'allow')
    return `${describeChange(rule, kind === 'added' ? 'gained' : 'lost')} (${where(rule)} ${kind})`;
  return kind === 'added'
    ? `${describeChange(rule, 'lost')}, whatever else allows it (deny ${where(rule)} added)`
    : `${describeChange(rule, 'are no longer denied')} (deny ${where(rule)} removed)`;
}

/**
 * The rules added, removed and changed between two versions, matched by rule id, each
 * rendered as sentences a person reads: "Tianjin health subjects gained read on health
 * data of Beijing classified up to sensitive, with purpose treatment, under an agreement".
 */
export function diffSnapshots(a: PolicySnapshot, b: PolicySnapshot): PolicyDiff {
  const before = new Map(a.rules.map((r) => [r.id, r]));
  const after = new Map(b.rules.map((r) => [r.id, r]));
  const changes: RuleChange[] = [];
  for (const rule of a.rules) {
    const next = after.get(rule.id);
    if (next === undefined) {
      changes.push({
        kind: 'removed',
        rule: rule.id,
        before: rule,
        columns: [],
        sentences: [effectOf(rule, 'removed')],
      });
      continue;
    }
    const columns = COLUMNS.filter((c) => rule.cells[c] !== next.cells[c]);
    if (columns.length === 0) continue;
    changes.push({
      kind: 'changed',
      rule: rule.id,
      before: rule,
      after: next,
      columns,
      sentences: [
        `Rule ${rule.id} changed (${columns.join(', ')}):`,
        effectOf(rule, 'removed'),
        effectOf(next, 'added'),
      ],
    });
  }
  for (const rule of b.rules) {
    if (!before.has(rule.id)) {
      changes.push({ kind: 'added', rule: rule.id, after: rule, columns: [], sentences: [effectOf(rule, 'added')] });
    }
  }
  const modelChanged = a.sources.model.text !== b.sources.model.text;
  const samplesChanged = a.sources.samples?.text !== b.sources.samples?.text;
  const notes = [
    modelChanged
      ? 'The Casbin model (model.conf) changed: every rule may read differently; review it line by line.'
      : '',
    samplesChanged ? 'The samples changed.' : '',
  ].filter((n) => n !== '');
  return Object.freeze({
    from: a.version,
    to: b.version,
    changes: Object.freeze(changes),
    modelChanged,
    samplesChanged,
    sentences: Object.freeze([...changes.flatMap((c) => c.sentences), ...notes]),
  });
}
