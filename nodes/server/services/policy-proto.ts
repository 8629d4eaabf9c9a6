import { MeshError } from '../../../common/errors/mesh-error.js';
import {
  actsAsCity,
  ancestorsOf,
  getCity,
  levelOf,
  parseRegionCode,
  parseResourceId,
  REGION_LEVEL_RANK,
  REGION_LEVELS,
  type RegionLevel,
} from '../../../common/ids/index.js';
import { requireEnum, requireMessage, requireString } from '../../../common/proto/index.js';
import type { CatalogEntry } from '../../../common/stores/index.js';
import {
  Action,
  AdministrativeLevel,
  Classification,
  type SubjectAttributes as ProtoSubject,
  type SubjectKind,
} from '../../../proto/gen/citymesh/v1/common.js';
import {
  PolicyEffect,
  type ResourceAttributes,
  type RuleEvaluation,
  type SubjectSelector,
} from '../../../proto/gen/citymesh/v1/policy_service.js';
import {
  COLUMNS,
  type Explanation,
  POLICY_ACTIONS,
  type PolicyAction,
  type Rule,
  SUBJECT_KINDS,
  type SubjectAttributes,
  type ValueSet,
} from '../../policy/engine/index.js';
import { classificationFromProto, kindFromProto } from './catalog-proto.js';

/** Engine values and their proto enums, in the engine's order (the proto numbers follow it). */
export const ACTION_OF = (a: PolicyAction): Action => (POLICY_ACTIONS.indexOf(a) + 1) as Action;
const LEVEL_OF = (l: RegionLevel): AdministrativeLevel => (REGION_LEVELS.indexOf(l) + 1) as AdministrativeLevel;
const KIND_OF = (k: string): SubjectKind => (SUBJECT_KINDS.indexOf(k as never) + 1) as SubjectKind;
export const CLASSIFICATION_OF: Readonly<Record<CatalogEntry['classification'], Classification>> = {
  public: Classification.CLASSIFICATION_PUBLIC,
  internal: Classification.CLASSIFICATION_INTERNAL,
  sensitive: Classification.CLASSIFICATION_SENSITIVE,
  restricted: Classification.CLASSIFICATION_RESTRICTED,
};
const ACTIONS = POLICY_ACTIONS.map(ACTION_OF);

function malformed(field: string, message: string): MeshError {
  return new MeshError('MALFORMED_REQUEST', `${field} ${message}`, { details: { field } });
}

/** A required action; `optional` lets UNSPECIFIED through as undefined (= every action). */
export function actionFromProto(
  typeName: string,
  field: string,
  value: Action,
  optional = false,
): PolicyAction | undefined {
  if (optional && value === Action.ACTION_UNSPECIFIED) return undefined;
  return POLICY_ACTIONS[requireEnum(typeName, field, value, ACTIONS) - 1];
}

/**
 * The subject of a question, from the request. Region and level are optional in the
 * proto: a missing region is the home city's (as for grants without one), a missing
 * level follows from the region code (as `citymesh policy explain` does).
 */
export function subjectFromProto(typeName: string, field: string, s: ProtoSubject | undefined): SubjectAttributes {
  const subject = requireMessage(typeName, field, s);
  const kind = requireEnum('SubjectAttributes', `${field}.kind`, subject.kind, [1, 2, 3, 4]);
  const city = requireString('SubjectAttributes', `${field}.city`, subject.city, 63);
  requireString('SubjectAttributes', `${field}.cluster`, subject.cluster, 63);
  const given = subject.regionCode === '' ? homeRegion(city) : subject.regionCode;
  if (given === '') throw malformed(`${field}.region_code`, `is required for ${city}, which is not a bundled city`);
  const region = parseRegionCode(given, `${field}.region_code`);
  const level =
    subject.level === AdministrativeLevel.ADMINISTRATIVE_LEVEL_UNSPECIFIED
      ? levelOf(region)
      : REGION_LEVELS[requireEnum('SubjectAttributes', `${field}.level`, subject.level, [1, 2, 3, 4, 5, 6]) - 1]!;
  return {
    kind: SUBJECT_KINDS[kind - 1]!,
    id: requireString('SubjectAttributes', `${field}.subject_id`, subject.subjectId, 512),
    city,
    industry: subject.industry,
    level,
    region,
    ...(subject.org === '' ? {} : { org: subject.org }),
    roles: subject.roles,
  };
}

/**
 * The entry a question is about, from the request's attributes: they are preferred over
 * the catalog (a gateway may ask before an entry is published), but only the catalog
 * says whether the entry is served under an agreement only.
 */
export function entryFromProto(
  r: ResourceAttributes | undefined,
  own: { cluster: string; city: string },
  published: CatalogEntry | undefined,
): CatalogEntry {
  const res = requireMessage('DecisionInput', 'resource', r);
  const id = parseResourceId(
    requireString('ResourceAttributes', 'resource.resource_id', res.resourceId),
    'resource.resource_id',
  );
  const owner = requireString('ResourceAttributes', 'resource.owner_city', res.ownerCity, 63);
  if (owner !== own.city || id.city !== own.city || (res.ownerCluster !== '' && res.ownerCluster !== own.cluster)) {
    throw new MeshError(
      'MALFORMED_REQUEST',
      `resource ${id.id} (owner ${owner}) is not an entry of ${own.city}: ask its own city's node, which decides for its entries`,
      { details: { field: 'resource.owner_city', rule: 'other-city' } },
    );
  }
  const kind = kindFromProto(res.kind);
  const classification = classificationFromProto(res.classification);
  if (kind === undefined) throw malformed('resource.kind', 'is required (UNSPECIFIED is not a value)');
  if (classification === undefined)
    throw malformed('resource.classification', 'is required (UNSPECIFIED is not a value)');
  const regionCode = parseRegionCode(res.regionCode, 'resource.region_code');
  return {
    version: id.version ?? '0.0.0',
    title: id.id,
    description: '',
    schema: {},
    license: '',
    requiresAgreement: false,
    publishedAt: new Date(0),
    ...published,
    id: id.id.split('@')[0]!,
    kind,
    city: own.city,
    ownerOrg: res.ownerOrg === '' ? id.org : res.ownerOrg,
    industry: requireString('ResourceAttributes', 'resource.industry', res.industry, 63),
    regionCode,
    level: levelOf(regionCode),
    classification,
  };
}

/** The region a city's subjects act for when nothing says otherwise: the city's own ('' if unknown). */
export function homeRegion(city: string): string {
  try {
    return getCity(city).region;
  } catch {
    return '';
  }
}

/** A rule as written in its file. */
export function ruleText(rule: Rule): string {
  return `p, ${COLUMNS.map((c) => rule.cells[c]).join(', ')}`;
}

/** The engine's explanation as the proto's evaluations, rule text looked up in the set. */
export function evaluationsToProto(explained: Explanation, ruleOf: (id: string) => Rule | undefined): RuleEvaluation[] {
  return explained.evaluated.map((e) => {
    const rule = ruleOf(e.rule);
    return {
      ruleId: e.rule,
      rule: rule === undefined ? '' : ruleText(rule),
      effect: e.effect === 'allow' ? PolicyEffect.POLICY_EFFECT_ALLOW : PolicyEffect.POLICY_EFFECT_DENY,
      matched: e.matched,
      unmetConditions: e.failed.map((f) => `${f.column}: ${f.reason}`),
    };
  });
}

/** The subject side of one rule, as `whoCan` resolves it (or the grants resolve it). */
export interface SubjectSide {
  readonly rule: string;
  readonly cities: ValueSet;
  readonly industries: ValueSet;
  /** The `who` cell as written: kinds and `role:` names, any of which admits. */
  readonly who: string;
  readonly levels: ValueSet;
  /** The `sub_region` cell (`*` for any). */
  readonly region: string;
  /** The `relation` cell (`*` for none). */
  readonly relation: string;
  readonly purposes: ValueSet;
  readonly agreementRequired: boolean;
}

/** The finite value spaces `except` sets are expanded over. */
export interface Universe {
  readonly cities: readonly string[];
  readonly industries: readonly string[];
}

/** A value set as a proto list: [] = any; undefined = nobody (an empty `only`). */
function listOf(set: ValueSet, universe: readonly string[]): string[] | undefined {
  if (set.kind === 'any') return [];
  const values = set.kind === 'only' ? [...set.values] : universe.filter((v) => !set.values.includes(v));
  return values.length === 0 ? undefined : values;
}

/**
 * Purposes as a list. Exchanges always declare one, so "any declared" is any; a set
 * that excludes named purposes (`!a|b`) cannot be listed and reads as any (a superset).
 */
function purposesOf(set: ValueSet): string[] | undefined {
  if (set.kind !== 'only') return [];
  const named = set.values.filter((v) => v !== '');
  return named.length === 0 ? undefined : named;
}

/**
 * Where the subject's region may lie, as (region, levels) pairs. The proto matches a
 * region "or inside one", so a relation to the entry's region becomes one pair per
 * region it admits, held to that region's own level (a municipality also acts as a city).
 */
function regionsOf(side: SubjectSide, objectRegion: string | undefined): { codes: string[]; levels?: RegionLevel[] }[] {
  if (side.region !== '*') return [{ codes: [side.region] }];
  if (side.relation === '*' || objectRegion === undefined) return [{ codes: [] }];
  const at = (code: string): RegionLevel[] => [
    ...new Set([levelOf(code), ...(actsAsCity(code) ? ['city' as const] : [])]),
  ];
  const rank = REGION_LEVEL_RANK[levelOf(objectRegion)];
  switch (side.relation) {
    case 'self':
      return [{ codes: [objectRegion], levels: at(objectRegion) }];
    case 'below':
      return [{ codes: [objectRegion], levels: REGION_LEVELS.filter((l) => REGION_LEVEL_RANK[l] > rank) }];
    default: {
      const containing =
        side.relation === 'within' ? [objectRegion, ...ancestorsOf(objectRegion)] : ancestorsOf(objectRegion);
      return containing.map((code) => ({ codes: [code], levels: at(code) }));
    }
  }
}

/**
 * One rule's subject side as proto selectors. Fields of one selector must all hold, so a
 * `who` of kinds and roles (either admits) becomes one selector for the kinds and one
 * for the roles, and a region relation one per admitted region. `except` sets of cities
 * and industries are listed out over `universe`. Empty when the rule admits nobody.
 */
export function selectorsToProto(
  side: SubjectSide,
  objectRegion: string | undefined,
  universe: Universe,
): SubjectSelector[] {
  const cities = listOf(side.cities, universe.cities);
  const industries = listOf(side.industries, universe.industries);
  const purposes = purposesOf(side.purposes);
  const ruleLevels = listOf(side.levels, REGION_LEVELS) as RegionLevel[] | undefined;
  if (cities === undefined || industries === undefined || purposes === undefined || ruleLevels === undefined) return [];
  const parts = side.who === '*' ? [] : side.who.split('|');
  const kinds = parts.filter((p) => !p.startsWith('role:'));
  const roles = parts.filter((p) => p.startsWith('role:')).map((p) => p.slice(5));
  const whos: { kinds: string[]; roles: string[] }[] = parts.length === 0 ? [{ kinds: [], roles: [] }] : [];
  if (kinds.length > 0) whos.push({ kinds, roles: [] });
  if (roles.length > 0) whos.push({ kinds: [], roles });
  const out: SubjectSelector[] = [];
  for (const where of regionsOf(side, objectRegion)) {
    const levels =
      where.levels === undefined
        ? ruleLevels
        : where.levels.filter((l) => ruleLevels.length === 0 || ruleLevels.includes(l));
    if (where.levels !== undefined && levels.length === 0) continue;
    for (const who of whos) {
      out.push({
        ruleId: side.rule,
        clusters: [],
        cities,
        orgs: [],
        industries,
        levels: levels.map(LEVEL_OF),
        regionCodes: where.codes,
        roles: who.roles,
        kinds: who.kinds.map(KIND_OF),
        purposes,
        agreementRequired: side.agreementRequired,
      });
    }
  }
  return out;
}
