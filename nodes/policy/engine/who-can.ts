import type { CompiledRule } from './compile-rule.js';
import { describeRule } from './describe.js';
import {
  formatSet,
  fromSet,
  resolveCities,
  resolveIndustries,
  resolvePurposes,
  resolveWho,
  subjectsMayOverlap,
  type ValueSet,
} from './selectors.js';
import type { PolicySnapshot } from './snapshot.js';
import type { ObjectAttributes, PolicyAction, PolicyRequest } from './types.js';

/** Which subjects one rule speaks for, with `$owner`, `$same` and `$other` resolved against the object. */
export interface SubjectSelector {
  readonly rule: string;
  readonly effect: 'allow' | 'deny';
  readonly cities: ValueSet;
  readonly industries: ValueSet;
  readonly kinds: ValueSet;
  /** The `who` column as written (kinds and `role:` names). */
  readonly who: string;
  readonly levels: ValueSet;
  /** The subject's region must lie in this region (`*` for any). */
  readonly region: string;
  /** How the subject's region must stand to the object's (`*`, self, within, above, below). */
  readonly relation: string;
  readonly purposes: ValueSet;
  readonly agreementRequired: boolean;
  /** Deny rules that may override this allow for some of its subjects (empty for a deny). */
  readonly exceptions: readonly string[];
  readonly summary: string;
  readonly sentence: string;
}

export interface WhoCanAnswer {
  readonly object: ObjectAttributes;
  readonly action: PolicyAction;
  readonly policyVersion: string;
  /** Allow rules whose object side fits: their subjects may, unless an exception applies. */
  readonly allowed: readonly SubjectSelector[];
  /** Deny rules whose object side fits: their subjects may not, whatever allows them. */
  readonly denied: readonly SubjectSelector[];
}

const OBJECT_SIDE: ReadonlySet<string> = new Set([
  'act',
  'obj_city',
  'obj_industry',
  'obj_region',
  'resource',
  'class',
]);

/** The object-side columns (and the action) of a rule, against a fixed object. */
function objectSideMatches(compiled: CompiledRule, probe: PolicyRequest): boolean {
  return compiled.conditions.every((c) => !OBJECT_SIDE.has(c.column) || c.test(probe));
}

function selector(compiled: CompiledRule, object: ObjectAttributes, exceptions: readonly string[]): SubjectSelector {
  const { rule } = compiled;
  const cities = resolveCities(rule.subCity, object.ownerCity);
  const industries = resolveIndustries(rule.subIndustry, object.industry);
  const purposes = resolvePurposes(rule.purpose);
  const parts = [
    `cities ${formatSet(cities)}`,
    `industries ${formatSet(industries)}`,
    rule.who === undefined ? '' : `who ${rule.cells.who}`,
    rule.subLevels === undefined ? '' : `levels ${formatSet(fromSet(rule.subLevels))}`,
    rule.subRegion === undefined ? '' : `in region ${rule.subRegion}`,
    rule.relation === undefined ? '' : `region ${rule.relation} ${object.region}`,
    purposes.kind === 'any' ? '' : `purpose ${formatSet(purposes)}`,
    rule.agreement === 'required' ? 'under an agreement' : rule.agreement === 'absent' ? 'without an agreement' : '',
  ].filter((p) => p !== '');
  return Object.freeze({
    rule: rule.id,
    effect: rule.effect,
    cities,
    industries,
    kinds: resolveWho(rule),
    who: rule.cells.who,
    levels: fromSet(rule.subLevels),
    region: rule.cells.sub_region,
    relation: rule.cells.relation,
    purposes,
    agreementRequired: rule.agreement === 'required',
    exceptions: Object.freeze([...exceptions]),
    summary: parts.join('; '),
    sentence: describeRule(rule, object.ownerCity),
  });
}

/**
 * Who may do `action` on the object: the subject selectors of every allow rule whose
 * object side fits, each listing the deny rules that may override it, and the deny
 * rules themselves. Scans the set once (an auditor query, not a decision).
 */
export function whoCan(snapshot: PolicySnapshot, object: ObjectAttributes, action: PolicyAction): WhoCanAnswer {
  // A probe carrying the object side; subject-side columns are not tested.
  const probe: PolicyRequest = {
    subject: { kind: 'app', id: '', city: '', industry: '', level: 'national', region: '', roles: [] },
    object,
    action,
    purpose: '',
    context: { agreement: false },
  };
  const fitting = snapshot.rules
    .map((rule) => snapshot.compiled(rule.id)!)
    .filter((compiled) => objectSideMatches(compiled, probe));
  const denies = fitting.filter((c) => c.rule.effect === 'deny');
  const allowed = fitting
    .filter((c) => c.rule.effect === 'allow')
    .map((allow) => {
      const overriding = denies.filter((deny) =>
        subjectsMayOverlap(allow.rule, deny.rule, object.ownerCity, object.industry),
      );
      return selector(
        allow,
        object,
        overriding.map((d) => d.rule.id),
      );
    });
  return Object.freeze({
    object,
    action,
    policyVersion: snapshot.version,
    allowed: Object.freeze(allowed),
    denied: Object.freeze(denies.map((deny) => selector(deny, object, []))),
  });
}
