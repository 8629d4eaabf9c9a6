import type { CityPattern, IndustryPattern, PurposePattern, Rule } from './columns.js';

/**
 * A set of values as auditor answers state it: everything, only these, or all but
 * these. `$owner`/`$same` and `$other` resolve to `only` and `except` once the other
 * side (the object's city or industry) is known.
 */
export type ValueSet =
  | { readonly kind: 'any' }
  | { readonly kind: 'only'; readonly values: readonly string[] }
  | { readonly kind: 'except'; readonly values: readonly string[] };

export const ANY: ValueSet = Object.freeze({ kind: 'any' });

const only = (values: Iterable<string>): ValueSet => ({ kind: 'only', values: [...new Set(values)].sort() });

/** `$owner`/`$same` and named values, or `$other` = all but `relativeTo`. */
function resolve(names: ReadonlySet<string>, same: boolean, other: boolean, relativeTo: string): ValueSet {
  if (other) {
    if (same || names.has(relativeTo)) return ANY;
    return { kind: 'except', values: [relativeTo] };
  }
  return only(same ? [...names, relativeTo] : names);
}

export function resolveCities(pattern: CityPattern | undefined, ownerCity: string): ValueSet {
  return pattern === undefined ? ANY : resolve(pattern.names, pattern.owner, pattern.other, ownerCity);
}

export function resolveIndustries(pattern: IndustryPattern | undefined, objectIndustry: string): ValueSet {
  return pattern === undefined ? ANY : resolve(pattern.ids, pattern.same, pattern.other, objectIndustry);
}

/** Purposes as a value set; the empty string stands for "no purpose declared". */
export function resolvePurposes(pattern: PurposePattern | undefined): ValueSet {
  if (pattern === undefined) return ANY;
  switch (pattern.kind) {
    case 'declared':
      return { kind: 'except', values: [''] };
    case 'none':
      return only(['']);
    case 'in':
      return only(pattern.values);
    case 'not-in':
      return { kind: 'except', values: [...pattern.values].sort() };
  }
}

export function fromSet(values: ReadonlySet<string> | undefined): ValueSet {
  return values === undefined ? ANY : only(values);
}

/** Both sets together: what a rule's column and a fixed attribute leave. */
export function intersect(a: ValueSet, b: ValueSet): ValueSet {
  if (a.kind === 'any') return b;
  if (b.kind === 'any') return a;
  if (a.kind === 'only' && b.kind === 'only') return only(a.values.filter((v) => b.values.includes(v)));
  if (a.kind === 'only') return only(a.values.filter((v) => !b.values.includes(v)));
  if (b.kind === 'only') return only(b.values.filter((v) => !a.values.includes(v)));
  return { kind: 'except', values: [...new Set([...a.values, ...b.values])].sort() };
}

export function isEmpty(set: ValueSet): boolean {
  return set.kind === 'only' && set.values.length === 0;
}

export function contains(set: ValueSet, value: string): boolean {
  if (set.kind === 'any') return true;
  return set.kind === 'only' ? set.values.includes(value) : !set.values.includes(value);
}

/** "any", "beijing or tianjin", "any but beijing"; for purposes, "" reads as "(none)". */
export function formatSet(set: ValueSet): string {
  const names = (values: readonly string[]) => values.map((v) => (v === '' ? '(none)' : v)).join(' or ');
  if (set.kind === 'any') return 'any';
  if (set.kind === 'except' && set.values.length === 1 && set.values[0] === '') return 'any declared';
  if (set.kind === 'only') return set.values.length === 0 ? 'nothing' : names(set.values);
  return `any but ${names(set.values)}`;
}

/** The subject kinds a `who` column admits; roles can sit on any kind, so a role admits all. */
export function resolveWho(rule: Rule): ValueSet {
  if (rule.who === undefined || rule.who.roles.size > 0) return ANY;
  return only(rule.who.kinds);
}

/** False only when no request can satisfy both rules' subject conditions (a deny can then never override the allow). */
export function subjectsMayOverlap(a: Rule, b: Rule, ownerCity: string, objectIndustry: string): boolean {
  const disjoint = (x: ValueSet, y: ValueSet) => isEmpty(intersect(x, y));
  if (disjoint(resolveCities(a.subCity, ownerCity), resolveCities(b.subCity, ownerCity))) return false;
  if (disjoint(resolveIndustries(a.subIndustry, objectIndustry), resolveIndustries(b.subIndustry, objectIndustry)))
    return false;
  if (disjoint(fromSet(a.subLevels), fromSet(b.subLevels))) return false;
  if (disjoint(resolveWho(a), resolveWho(b))) return false;
  if (disjoint(resolvePurposes(a.purpose), resolvePurposes(b.purpose))) return false;
  if (a.agreement !== undefined && b.agreement !== undefined && a.agreement !== b.agreement) return false;
  return true;
}
