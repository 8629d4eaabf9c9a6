import type { Rule } from './columns.js';
import { describeRule } from './describe.js';
import { regionContains } from './region-match.js';
import { ANY, formatSet, fromSet, intersect, isEmpty, type ValueSet } from './selectors.js';
import type { PolicySnapshot } from './snapshot.js';
import type { SubjectAttributes } from './types.js';

/** What one rule lets (or forbids) this subject do, as object patterns. */
export interface ObjectSelector {
  readonly rule: string;
  readonly effect: 'allow' | 'deny';
  readonly actions: string;
  /** Owner cities of the objects, with the rule's `$owner`/`$other` resolved against the subject. */
  readonly ownerCities: ValueSet;
  readonly industries: ValueSet;
  /** Where the objects' regions must lie, in words ("110105 or below"). */
  readonly regions: string;
  readonly resource: string;
  readonly classification: string;
  readonly purpose: string;
  readonly agreement: string;
  readonly summary: string;
  readonly sentence: string;
}

export interface WhatCanAnswer {
  readonly subject: SubjectAttributes;
  readonly policyVersion: string;
  /** Allow rules this subject meets on its side. */
  readonly allowed: readonly ObjectSelector[];
  /** Deny rules this subject meets on its side: they override the allows where objects overlap. */
  readonly restrictions: readonly ObjectSelector[];
}

/** `$owner`/`$same` and `$other` seen from the subject: which object values the rule leaves, or undefined if none. */
function relative(
  pattern: { names: ReadonlySet<string>; same: boolean; other: boolean } | undefined,
  value: string,
): ValueSet | undefined {
  if (pattern === undefined || pattern.names.has(value) || (pattern.same && pattern.other)) return ANY;
  if (pattern.same) return { kind: 'only', values: [value] };
  if (pattern.other) return { kind: 'except', values: [value] };
  return undefined;
}

const RELATION_WORDS: Readonly<Record<string, (region: string) => string>> = {
  self: (r) => `${r} itself`,
  within: (r) => `${r} or below`,
  above: (r) => `strictly below ${r}`,
  below: (r) => `a region containing ${r}`,
};

function selectorFor(rule: Rule, subject: SubjectAttributes): ObjectSelector | undefined {
  const who = rule.who;
  if (who !== undefined && !who.kinds.has(subject.kind) && !subject.roles.some((r) => who.roles.has(r)))
    return undefined;
  if (rule.subLevels !== undefined && !rule.subLevels.has(subject.level)) return undefined;
  if (rule.subRegion !== undefined && !regionContains(rule.subRegion, subject.region)) return undefined;
  const city = rule.subCity;
  const byCity = relative(city && { names: city.names, same: city.owner, other: city.other }, subject.city);
  const industry = rule.subIndustry;
  const byIndustry = relative(
    industry && { names: industry.ids, same: industry.same, other: industry.other },
    subject.industry,
  );
  if (byCity === undefined || byIndustry === undefined) return undefined;
  const ownerCities = intersect(byCity, fromSet(rule.objCities));
  const industries = intersect(byIndustry, fromSet(rule.objIndustries));
  if (isEmpty(ownerCities) || isEmpty(industries)) return undefined;
  const regions = [
    rule.relation === undefined ? '' : RELATION_WORDS[rule.relation]!(subject.region),
    rule.objRegion === undefined ? '' : `${rule.objRegion} or below`,
  ].filter((r) => r !== '');
  const c = rule.cells;
  const summary = [
    `${c.act === '*' ? 'every action' : c.act} on`,
    `${formatSet(industries)} data of ${formatSet(ownerCities)}`,
    regions.length === 0 ? '' : `in ${regions.join(' and ')}`,
    c.resource === '*' ? '' : `matching ${c.resource}`,
    c.class === '*' ? '' : `class ${c.class}`,
    c.purpose === '*' ? '' : `purpose ${c.purpose}`,
    c.agreement === '*' ? '' : `agreement ${c.agreement}`,
  ].filter((p) => p !== '');
  return Object.freeze({
    rule: rule.id,
    effect: rule.effect,
    actions: c.act,
    ownerCities,
    industries,
    regions: regions.length === 0 ? 'any' : regions.join(' and '),
    resource: c.resource,
    classification: c.class,
    purpose: c.purpose,
    agreement: c.agreement,
    summary: summary.join(' '),
    sentence: describeRule(rule),
  });
}

/**
 * What a subject may do: for every rule whose subject side this subject meets, the
 * objects and actions it covers. Deny rules come back as restrictions. Scans the set
 * once (an auditor query, not a decision).
 */
export function whatCan(snapshot: PolicySnapshot, subject: SubjectAttributes): WhatCanAnswer {
  const selectors = snapshot.rules
    .map((rule) => selectorFor(rule, subject))
    .filter((s): s is ObjectSelector => s !== undefined);
  return Object.freeze({
    subject,
    policyVersion: snapshot.version,
    allowed: Object.freeze(selectors.filter((s) => s.effect === 'allow')),
    restrictions: Object.freeze(selectors.filter((s) => s.effect === 'deny')),
  });
}
