import { type Enforcer, type MatchingFunction, newEnforcer, newModelFromString } from 'casbin';
import { contains, isRegionCode } from '../../../common/ids/index.js';
import { COLUMNS, type Rule } from './columns.js';
import { CLASSIFICATION_RANK, DEFAULT_DENY, type PolicyRequest } from './types.js';

/*
 * The functions policies/model.conf calls, registered with `addFunction`. They read
 * the cells as written, on every call, and use common/ids for regions: written apart
 * from compile-rule.ts on purpose, so that comparing the two finds mistakes in either.
 */

const alternatives = (pattern: string): string[] => pattern.split('|');
const rank = (classification: string): number => CLASSIFICATION_RANK[classification as 'public'] ?? Number.NaN;

function safeContains(outer: string, inner: string): boolean {
  try {
    return contains(outer, inner);
  } catch {
    return false;
  }
}

function classMatch(pattern: string, classification: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('<=')) return rank(classification) <= rank(pattern.slice(2).trim());
  if (pattern.startsWith('>=')) return rank(classification) >= rank(pattern.slice(2).trim());
  return rank(classification) === rank(pattern.replace(/^=/, '').trim());
}

function purposeMatch(pattern: string, purpose: string): boolean {
  if (pattern === '*') return true;
  if (pattern === 'declared') return purpose !== '';
  if (pattern === 'none') return purpose === '';
  if (pattern.startsWith('!')) return !alternatives(pattern.slice(1)).includes(purpose);
  return alternatives(pattern).includes(purpose);
}

function relationMatch(relation: string, subject: string, object: string): boolean {
  switch (relation) {
    case '*':
      return true;
    case 'self':
      return subject === object && isRegionCode(subject);
    case 'within':
      return safeContains(subject, object);
    case 'above':
      return subject !== object && safeContains(subject, object);
    case 'below':
      return subject !== object && safeContains(object, subject);
    default:
      return false;
  }
}

export const CASBIN_FUNCTIONS: Readonly<Record<string, MatchingFunction>> = {
  anyOf: (pattern: string, value: string) => pattern === '*' || alternatives(pattern).includes(value),
  whoMatch: (pattern: string, kind: string, roles: readonly string[]) =>
    pattern === '*' ||
    alternatives(pattern).some((a) => (a.startsWith('role:') ? roles.includes(a.slice(5)) : a === kind)),
  cityMatch: (pattern: string, city: string, owner: string) =>
    pattern === '*' ||
    alternatives(pattern).some((a) => (a === '$owner' ? city === owner : a === '$other' ? city !== owner : a === city)),
  industryMatch: (pattern: string, industry: string, objectIndustry: string) =>
    pattern === '*' ||
    alternatives(pattern).some((a) =>
      a === '$same' ? industry === objectIndustry : a === '$other' ? industry !== objectIndustry : a === industry,
    ),
  regionMatch: (pattern: string, region: string) => pattern === '*' || safeContains(pattern, region),
  relationMatch,
  resourceMatch: (pattern: string, id: string) =>
    pattern === '*' || (pattern.endsWith('*') ? id.startsWith(pattern.slice(0, -1)) : id === pattern),
  classMatch,
  purposeMatch,
  agreementMatch: (pattern: string, agreement: boolean) =>
    pattern === '*' || (pattern === 'required' ? agreement === true : agreement !== true),
  ceilingMatch: (classification: string, ceiling: string | undefined) =>
    ceiling === undefined || rank(classification) <= rank(ceiling),
};

/** The `p` line Casbin sees for a rule. */
export function casbinLine(rule: Rule): string[] {
  return COLUMNS.map((column) => rule.cells[column]);
}

/**
 * The matcher and effect compile-rule.ts implements, as Casbin holds them (dots after
 * `r`/`p` escaped). A model saying anything else would be decided one way by the
 * engine and another by Casbin, so the loader refuses it: change both together.
 */
export const ENGINE_MATCHER =
  'anyOf(p_act, r_act) && whoMatch(p_who, r_sub.kind, r_sub.roles) && cityMatch(p_sub_city, r_sub.city, r_obj.ownerCity) ' +
  '&& industryMatch(p_sub_industry, r_sub.industry, r_obj.industry) && anyOf(p_sub_level, r_sub.level) ' +
  '&& regionMatch(p_sub_region, r_sub.region) && relationMatch(p_relation, r_sub.region, r_obj.region) ' +
  '&& anyOf(p_obj_city, r_obj.ownerCity) && anyOf(p_obj_industry, r_obj.industry) && regionMatch(p_obj_region, r_obj.region) ' +
  '&& resourceMatch(p_resource, r_obj.id) && classMatch(p_class, r_obj.classification) ' +
  '&& purposeMatch(p_purpose, r_purpose) && agreementMatch(p_agreement, r_ctx.agreement) ' +
  '&& (p_eft == "deny" || ceilingMatch(r_obj.classification, r_ctx.grantMaxClassification))';
export const ENGINE_EFFECT = 'some(where (p_eft == allow)) && !some(where (p_eft == deny))';

/** What a model file declares, for checking it against what the engine evaluates. */
export function modelParts(modelText: string): {
  request: readonly string[];
  policy: readonly string[];
  matcher: string;
  effect: string;
} {
  const model = newModelFromString(modelText);
  return {
    request: model.model.get('r')?.get('r')?.tokens ?? [],
    policy: model.model.get('p')?.get('p')?.tokens ?? [],
    matcher: model.model.get('m')?.get('m')?.value ?? '',
    effect: model.model.get('e')?.get('e')?.value ?? '',
  };
}

/**
 * One plain Casbin enforcer holding every rule: no index, no cache. The reference
 * the engine is tested against and the baseline it is measured against.
 */
export async function referenceEnforcer(modelText: string, rules: readonly Rule[]): Promise<Enforcer> {
  const enforcer = await newEnforcer(newModelFromString(modelText));
  for (const [name, fn] of Object.entries(CASBIN_FUNCTIONS)) await enforcer.addFunction(name, fn);
  if (rules.length > 0) await enforcer.addPolicies(rules.map(casbinLine));
  return enforcer;
}

/** What the plain enforcer decides, and the rule Casbin names (the last matching allow, or the deny). */
export function referenceDecide(enforcer: Enforcer, request: PolicyRequest): { allowed: boolean; rule: string } {
  const ctx = { agreement: request.context.agreement, grantMaxClassification: request.context.grantMaxClassification };
  const [allowed, line] = enforcer.enforceExSync(request.subject, request.object, request.action, request.purpose, ctx);
  return { allowed, rule: line[0] ?? DEFAULT_DENY };
}
