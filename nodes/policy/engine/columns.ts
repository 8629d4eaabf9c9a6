import { didYouMean } from '../../../common/config/did-you-mean.js';
import {
  INDUSTRIES,
  isCityName,
  isClusterName,
  listClusters,
  parseRegionCode,
  REGION_LEVELS,
  type RegionLevel,
} from '../../../common/ids/index.js';
import type { Classification } from '../../../common/stores/index.js';
import {
  CLASSIFICATION_RANK,
  CLASSIFICATIONS,
  DEFAULT_DENY,
  POLICY_ACTIONS,
  type PolicyAction,
  SUBJECT_KINDS,
} from './types.js';

/** The `p` columns of policies/model.conf, in order; the loader refuses a model that differs. */
export const COLUMNS = [
  'id',
  'eft',
  'act',
  'who',
  'sub_city',
  'sub_industry',
  'sub_level',
  'sub_region',
  'relation',
  'obj_city',
  'obj_industry',
  'obj_region',
  'resource',
  'class',
  'purpose',
  'agreement',
] as const;
export type Column = (typeof COLUMNS)[number];

export const RELATIONS = ['self', 'within', 'above', 'below'] as const;
export type Relation = (typeof RELATIONS)[number];

/** `$owner`, `$other` and named cities, any of which may match. */
export interface CityPattern {
  readonly owner: boolean;
  readonly other: boolean;
  readonly names: ReadonlySet<string>;
}
export interface IndustryPattern {
  readonly same: boolean;
  readonly other: boolean;
  readonly ids: ReadonlySet<string>;
}
export interface ClassPattern {
  readonly op: '<=' | '>=' | '=';
  readonly name: Classification;
  readonly rank: number;
}
export type PurposePattern =
  | { readonly kind: 'declared' }
  | { readonly kind: 'none' }
  | { readonly kind: 'in' | 'not-in'; readonly values: ReadonlySet<string> };

/** One parsed line. Every pattern field is undefined when its column is `*`. */
export interface Rule {
  readonly id: string;
  readonly effect: 'allow' | 'deny';
  /** The cells as written (trimmed): the Casbin `p` line, and what diffs compare. */
  readonly cells: Readonly<Record<Column, string>>;
  readonly file: string;
  readonly line: number;
  readonly actions?: ReadonlySet<PolicyAction>;
  readonly who?: { readonly kinds: ReadonlySet<string>; readonly roles: ReadonlySet<string> };
  readonly subCity?: CityPattern;
  readonly subIndustry?: IndustryPattern;
  readonly subLevels?: ReadonlySet<RegionLevel>;
  readonly subRegion?: string;
  readonly relation?: Relation;
  readonly objCities?: ReadonlySet<string>;
  readonly objIndustries?: ReadonlySet<string>;
  readonly objRegion?: string;
  readonly resource?: { readonly prefix: boolean; readonly text: string };
  readonly classification?: ClassPattern;
  readonly purpose?: PurposePattern;
  readonly agreement?: 'required' | 'absent';
}

/** A cell that does not parse; the caller adds file, line and column. */
export class CellError extends Error {}

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const RULE_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const RESOURCE = /^[a-z0-9][a-z0-9._/-]*(\*)?$/;
const INDUSTRY_IDS = INDUSTRIES.map((industry) => industry.id as string);

let cityNames: readonly string[] | undefined;
function knownCities(): readonly string[] {
  cityNames ??= listClusters().flatMap((cluster) => cluster.cities.map((city) => city.id as string));
  return cityNames;
}

function unknown(what: string, value: string, known: readonly string[]): CellError {
  const hint = didYouMean(value, known);
  return new CellError(
    `unknown ${what} "${value}"${hint === undefined ? `; one of ${known.join(', ')}` : ` (did you mean "${hint}"?)`}`,
  );
}

/** `a|b|c` → its alternatives; `*` alone → undefined (any). */
function alternatives(cell: string, what: string): string[] | undefined {
  if (cell === '*') return undefined;
  const parts = cell.split('|');
  if (parts.some((p) => p === '')) throw new CellError(`empty alternative in ${what} "${cell}"`);
  if (parts.includes('*')) throw new CellError(`"*" cannot be one of several alternatives in ${what} "${cell}"`);
  return parts;
}

function oneOf<T extends string>(cell: string, what: string, known: readonly T[]): Set<T> | undefined {
  const parts = alternatives(cell, what);
  if (parts === undefined) return undefined;
  for (const p of parts) if (!(known as readonly string[]).includes(p)) throw unknown(what, p, known);
  return new Set(parts as T[]);
}

function cities(cell: string, what: string, allowRelative: boolean): CityPattern | undefined {
  const parts = alternatives(cell, what);
  if (parts === undefined) return undefined;
  const names = new Set<string>();
  let owner = false;
  let other = false;
  for (const p of parts) {
    if (allowRelative && p === '$owner') owner = true;
    else if (allowRelative && p === '$other') other = true;
    else if (p.startsWith('$')) {
      throw new CellError(
        `"${p}" is not allowed here: ${allowRelative ? 'only $owner and $other are' : 'only city names are'}`,
      );
    } else if (!isCityName(p) || !knownCities().includes(p)) throw unknown('city', p, knownCities());
    else names.add(p);
  }
  return { owner, other, names };
}

function industries(cell: string, allowRelative: boolean): IndustryPattern | undefined {
  const parts = alternatives(cell, 'industry');
  if (parts === undefined) return undefined;
  const ids = new Set<string>();
  let same = false;
  let other = false;
  for (const p of parts) {
    if (allowRelative && p === '$same') same = true;
    else if (allowRelative && p === '$other') other = true;
    else if (!INDUSTRY_IDS.includes(p)) throw unknown('industry', p, INDUSTRY_IDS);
    else ids.add(p);
  }
  return { same, other, ids };
}

function region(cell: string, what: string): string | undefined {
  if (cell === '*') return undefined;
  try {
    return parseRegionCode(cell, what);
  } catch (error) {
    throw new CellError(error instanceof Error ? error.message : String(error));
  }
}

function classification(cell: string): ClassPattern | undefined {
  if (cell === '*') return undefined;
  const match = /^(<=|>=|=)?([a-z]+)$/.exec(cell);
  const name = match?.[2] ?? cell;
  if (!(CLASSIFICATIONS as readonly string[]).includes(name)) throw unknown('classification', name, CLASSIFICATIONS);
  const op = (match?.[1] ?? '=') as ClassPattern['op'];
  return { op, name: name as Classification, rank: CLASSIFICATION_RANK[name as Classification] };
}

function purpose(cell: string): PurposePattern | undefined {
  if (cell === '*') return undefined;
  if (cell === 'declared' || cell === 'none') return { kind: cell };
  const negated = cell.startsWith('!');
  const parts = alternatives(negated ? cell.slice(1) : cell, 'purpose') ?? [];
  for (const p of parts) {
    if (!NAME.test(p) || p === 'declared' || p === 'none') {
      throw new CellError(`purpose "${p}" must be lowercase letters, digits and "-", and not declared or none`);
    }
  }
  return { kind: negated ? 'not-in' : 'in', values: new Set(parts) };
}

function resource(cell: string): Rule['resource'] {
  if (cell === '*') return undefined;
  if (!RESOURCE.test(cell)) throw new CellError(`resource "${cell}" is not a resource id or a prefix ending in *`);
  const [cluster, city] = cell.split('/');
  if (cluster !== undefined && !cluster.includes('*') && !isClusterName(cluster)) {
    throw new CellError(`resource "${cell}" does not start with a cluster name`);
  }
  if (city !== undefined && !city.includes('*') && !knownCities().includes(city))
    throw unknown('city', city, knownCities());
  const prefix = cell.endsWith('*');
  return { prefix, text: prefix ? cell.slice(0, -1) : cell };
}

function who(cell: string): Rule['who'] {
  const parts = alternatives(cell, 'who');
  if (parts === undefined) return undefined;
  const kinds = new Set<string>();
  const roles = new Set<string>();
  for (const p of parts) {
    if (p.startsWith('role:')) {
      if (!NAME.test(p.slice(5))) throw new CellError(`role "${p.slice(5)}" is not a role name`);
      roles.add(p.slice(5));
    } else if ((SUBJECT_KINDS as readonly string[]).includes(p)) kinds.add(p);
    else throw unknown('subject kind (or role:<name>)', p, SUBJECT_KINDS);
  }
  return { kinds, roles };
}

type Parsed = Omit<Rule, 'cells' | 'file' | 'line'>;

/** Parses the cells of one line; `at` reports the first bad column (and throws). */
export function parseCells(
  cells: Readonly<Record<Column, string>>,
  at: (column: Column, message: string) => never,
): Parsed {
  const cell = <T>(column: Column, parse: (text: string) => T): T => {
    try {
      return parse(cells[column]);
    } catch (error) {
      if (error instanceof CellError) at(column, error.message);
      throw error;
    }
  };
  const id = cell('id', (text) => {
    if (!RULE_ID.test(text)) throw new CellError(`rule id "${text}" must be lowercase letters, digits, ".", "_", "-"`);
    // Decisions name these when no rule decided; a rule of that name would blur which.
    if (text === DEFAULT_DENY || text === 'no-policy-loaded') throw new CellError(`rule id "${text}" is reserved`);
    return text;
  });
  const effect = cell('eft', (text) => {
    if (text !== 'allow' && text !== 'deny') throw unknown('effect', text, ['allow', 'deny']);
    return text;
  });
  const parsed: Parsed = {
    id,
    effect,
    actions: cell('act', (t) => oneOf(t, 'action', POLICY_ACTIONS)),
    who: cell('who', who),
    subCity: cell('sub_city', (t) => cities(t, 'sub_city', true)),
    subIndustry: cell('sub_industry', (t) => industries(t, true)),
    subLevels: cell('sub_level', (t) => oneOf(t, 'level', REGION_LEVELS)),
    subRegion: cell('sub_region', (t) => region(t, 'sub_region')),
    relation: cell('relation', (t) => {
      if (t === '*') return undefined;
      if (!(RELATIONS as readonly string[]).includes(t)) throw unknown('relation', t, RELATIONS);
      return t as Relation;
    }),
    objCities: cell('obj_city', (t) => cities(t, 'obj_city', false)?.names),
    objIndustries: cell('obj_industry', (t) => industries(t, false)?.ids),
    objRegion: cell('obj_region', (t) => region(t, 'obj_region')),
    resource: cell('resource', resource),
    classification: cell('class', classification),
    purpose: cell('purpose', purpose),
    agreement: cell('agreement', (t) => {
      if (t === '*') return undefined;
      if (t !== 'required' && t !== 'absent') throw unknown('agreement', t, ['*', 'required', 'absent']);
      return t;
    }),
  };
  return parsed;
}
