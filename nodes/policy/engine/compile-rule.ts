import type { Column, Rule } from './columns.js';
import { regionContains, relationHolds } from './region-match.js';
import { CLASSIFICATION_RANK, type PolicyRequest } from './types.js';

/** One non-`*` column of a rule as a test, plus what to say when it fails. */
export interface Condition {
  readonly column: Column | 'ceiling';
  readonly test: (request: PolicyRequest) => boolean;
  readonly whyNot: (request: PolicyRequest) => string;
}

/**
 * A rule as plain JS tests. This is what the engine runs; the same rule as a Casbin
 * `p` line under policies/model.conf is the reference, and a property test holds the
 * two to the same decisions. Cheap, selective columns come first.
 */
export interface CompiledRule {
  readonly rule: Rule;
  readonly conditions: readonly Condition[];
  readonly matches: (request: PolicyRequest) => boolean;
}

const list = (values: ReadonlySet<string>): string => [...values].join('|');

export function compileRule(rule: Rule): CompiledRule {
  const c: Condition[] = [];
  const add = (column: Condition['column'], test: Condition['test'], whyNot: Condition['whyNot']) =>
    c.push({ column, test, whyNot });
  const { actions, objIndustries, objCities, subCity, classification, who, purpose, agreement } = rule;

  if (actions !== undefined)
    add(
      'act',
      (r) => actions.has(r.action),
      (r) => `action ${r.action} is not ${list(actions)}`,
    );
  if (objIndustries !== undefined) {
    add(
      'obj_industry',
      (r) => objIndustries.has(r.object.industry),
      (r) => `the resource's industry ${r.object.industry} is not ${list(objIndustries)}`,
    );
  }
  if (objCities !== undefined) {
    add(
      'obj_city',
      (r) => objCities.has(r.object.ownerCity),
      (r) => `the resource belongs to ${r.object.ownerCity}, not ${list(objCities)}`,
    );
  }
  if (subCity !== undefined) {
    const { owner, other, names } = subCity;
    add(
      'sub_city',
      (r) =>
        names.has(r.subject.city) ||
        (owner && r.subject.city === r.object.ownerCity) ||
        (other && r.subject.city !== r.object.ownerCity),
      (r) => `the subject's city ${r.subject.city} is not ${rule.cells.sub_city} (owner ${r.object.ownerCity})`,
    );
  }
  if (classification !== undefined) {
    const { op, rank } = classification;
    const test =
      op === '<='
        ? (r: PolicyRequest) => CLASSIFICATION_RANK[r.object.classification] <= rank
        : op === '>='
          ? (r: PolicyRequest) => CLASSIFICATION_RANK[r.object.classification] >= rank
          : (r: PolicyRequest) => CLASSIFICATION_RANK[r.object.classification] === rank;
    add('class', test, (r) => `the resource is ${r.object.classification}, not ${rule.cells.class}`);
  }
  if (who !== undefined) {
    const { kinds, roles } = who;
    add(
      'who',
      (r) => kinds.has(r.subject.kind) || r.subject.roles.some((role) => roles.has(role)),
      (r) => `the subject is a ${r.subject.kind} with roles [${r.subject.roles.join(', ')}], not ${rule.cells.who}`,
    );
  }
  if (purpose !== undefined) {
    const test =
      purpose.kind === 'declared'
        ? (r: PolicyRequest) => r.purpose !== ''
        : purpose.kind === 'none'
          ? (r: PolicyRequest) => r.purpose === ''
          : purpose.kind === 'in'
            ? (r: PolicyRequest) => purpose.values.has(r.purpose)
            : (r: PolicyRequest) => !purpose.values.has(r.purpose);
    add('purpose', test, (r) => `the purpose "${r.purpose}" is not ${rule.cells.purpose}`);
  }
  if (agreement !== undefined) {
    const wanted = agreement === 'required';
    add(
      'agreement',
      (r) => (r.context.agreement === true) === wanted,
      () => (wanted ? 'no live agreement covers the request' : 'a live agreement covers the request'),
    );
  }
  if (rule.subIndustry !== undefined) {
    const { same, other, ids } = rule.subIndustry;
    add(
      'sub_industry',
      (r) =>
        ids.has(r.subject.industry) ||
        (same && r.subject.industry === r.object.industry) ||
        (other && r.subject.industry !== r.object.industry),
      (r) =>
        `the subject's industry ${r.subject.industry} is not ${rule.cells.sub_industry} (resource: ${r.object.industry})`,
    );
  }
  if (rule.subLevels !== undefined) {
    const levels: ReadonlySet<string> = rule.subLevels;
    add(
      'sub_level',
      (r) => levels.has(r.subject.level),
      (r) => `the subject's level ${r.subject.level} is not ${list(levels)}`,
    );
  }
  if (rule.resource !== undefined) {
    const { prefix, text } = rule.resource;
    add(
      'resource',
      prefix ? (r) => r.object.id.startsWith(text) : (r) => r.object.id === text,
      (r) => `${r.object.id} does not match ${rule.cells.resource}`,
    );
  }
  const subRegion = rule.subRegion;
  if (subRegion !== undefined) {
    add(
      'sub_region',
      (r) => regionContains(subRegion, r.subject.region),
      (r) => `the subject's region ${r.subject.region} is not in ${subRegion}`,
    );
  }
  const objRegion = rule.objRegion;
  if (objRegion !== undefined) {
    add(
      'obj_region',
      (r) => regionContains(objRegion, r.object.region),
      (r) => `the resource's region ${r.object.region} is not in ${objRegion}`,
    );
  }
  const relation = rule.relation;
  if (relation !== undefined) {
    add(
      'relation',
      (r) => relationHolds(relation, r.subject.region, r.object.region),
      (r) => `the subject's region ${r.subject.region} is not "${relation}" the resource's region ${r.object.region}`,
    );
  }
  if (rule.effect === 'allow') {
    add(
      'ceiling',
      (r) =>
        r.context.grantMaxClassification === undefined ||
        CLASSIFICATION_RANK[r.object.classification] <= CLASSIFICATION_RANK[r.context.grantMaxClassification],
      (r) =>
        `the resource is ${r.object.classification}, above the grant's ceiling ${r.context.grantMaxClassification}`,
    );
  }
  const conditions = Object.freeze(c);
  const matches = (request: PolicyRequest): boolean => {
    for (const condition of conditions) if (!condition.test(request)) return false;
    return true;
  };
  return { rule, conditions, matches };
}
