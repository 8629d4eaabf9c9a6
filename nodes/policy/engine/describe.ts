import type { Rule } from './columns.js';

/*
 * Rules as sentences an auditor reads. Wording follows the cells as written, so two
 * rules that read alike are alike; `$owner` reads as the owner city when it is known.
 */

const capital = (s: string): string => (s === '' ? s : `${s[0]!.toUpperCase()}${s.slice(1)}`);

function either(values: readonly string[], word = 'or'): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')} ${word} ${values[values.length - 1]}`;
}

const parts = (cell: string): string[] => cell.split('|');

const KIND_NOUNS: Readonly<Record<string, string>> = {
  person: 'people',
  app: 'apps',
  device: 'devices',
  node: 'nodes',
};

function cityWord(city: string, owner: string | undefined): string {
  if (city === '$owner') return owner === undefined ? "the owner city's" : capital(owner);
  if (city === '$other') return owner === undefined ? "other cities'" : `non-${capital(owner)}`;
  return capital(city);
}

function industryWord(industry: string): string {
  if (industry === '$same') return 'same-industry';
  if (industry === '$other') return 'other-industry';
  return industry;
}

const RELATION_CLAUSES: Readonly<Record<string, string>> = {
  self: ' in their own region',
  within: ' in their own region or below it',
  above: ' strictly below their region (upward reporting)',
  below: ' in a region containing theirs',
};

/** "Tianjin health subjects", "other cities' national or province-level devices in region 130000". */
export function describeSubjects(rule: Rule, owner?: string): string {
  const c = rule.cells;
  const city = c.sub_city === '*' ? '' : either(parts(c.sub_city).map((p) => cityWord(p, owner)));
  const industry = c.sub_industry === '*' ? '' : either(parts(c.sub_industry).map(industryWord));
  const level = c.sub_level === '*' ? '' : `${either(parts(c.sub_level))}-level`;
  const noun =
    c.who === '*'
      ? 'subjects'
      : either(parts(c.who).map((w) => (w.startsWith('role:') ? `subjects with role ${w.slice(5)}` : KIND_NOUNS[w]!)));
  const region = c.sub_region === '*' ? '' : ` in region ${c.sub_region}`;
  const words = [city, industry, level, noun].filter((w) => w !== '').join(' ');
  return `${c.sub_city === '*' ? "any city's " : ''}${words}${region}`;
}

/** "read, subscribe and invoke" ("or" after a negation), "every action". */
export function describeActions(rule: Rule, negated = false): string {
  return rule.cells.act === '*' ? 'any action' : either(parts(rule.cells.act), negated ? 'or' : 'and');
}

function classClause(cell: string): string {
  if (cell === '*') return '';
  if (cell.startsWith('<=')) return ` classified up to ${cell.slice(2).trim()}`;
  if (cell.startsWith('>=')) return ` classified ${cell.slice(2).trim()} or above`;
  return ` classified ${cell.replace(/^=/, '').trim()}`;
}

/** "health data of Beijing classified up to sensitive", "data in their own region or below it". */
export function describeObjects(rule: Rule, owner?: string): string {
  const c = rule.cells;
  const industry = c.obj_industry === '*' ? '' : `${either(parts(c.obj_industry))} `;
  const city =
    c.obj_city === '*'
      ? owner === undefined
        ? ''
        : ` of ${capital(owner)}`
      : ` of ${either(parts(c.obj_city).map(capital))}`;
  const region = c.obj_region === '*' ? '' : ` in region ${c.obj_region}`;
  const relation = c.relation === '*' ? '' : RELATION_CLAUSES[c.relation]!;
  const resource = c.resource === '*' ? '' : ` matching ${c.resource}`;
  return `${industry}data${city}${region}${relation}${resource}${classClause(c.class)}`;
}

/** ", with purpose treatment or public-health, under an agreement". */
export function describeConditions(rule: Rule): string {
  const p = rule.cells.purpose;
  let purpose = '';
  if (p === 'declared') purpose = ', with a declared purpose';
  else if (p === 'none') purpose = ', without a declared purpose';
  else if (p.startsWith('!')) purpose = `, with a purpose other than ${either(parts(p.slice(1)))}`;
  else if (p !== '*') purpose = `, with purpose ${either(parts(p))}`;
  const a = rule.cells.agreement;
  const agreement = a === 'required' ? ', under an agreement' : a === 'absent' ? ', without an agreement' : '';
  return `${purpose}${agreement}`;
}

/** The whole rule: "Tianjin health subjects may read health data of Beijing classified up to sensitive, ...". */
export function describeRule(rule: Rule, owner?: string): string {
  const deny = rule.effect === 'deny';
  const subjects = capital(describeSubjects(rule, owner));
  const actions = describeActions(rule, deny);
  return `${subjects} ${deny ? 'may not' : 'may'} ${actions} ${describeObjects(rule, owner)}${describeConditions(rule)}`;
}

/** For a change: "Tianjin health subjects gained read on health data of Beijing ...". */
export function describeChange(rule: Rule, verb: 'gained' | 'lost' | 'are no longer denied'): string {
  const actions = describeActions(rule, verb === 'are no longer denied');
  return `${capital(describeSubjects(rule))} ${verb} ${actions} on ${describeObjects(rule)}${describeConditions(rule)}`;
}

/** `rule-id (file:line)`, how rules are named to people. */
export function ruleLocation(rule: Rule): string {
  return `${rule.id} (${rule.file}:${rule.line})`;
}
