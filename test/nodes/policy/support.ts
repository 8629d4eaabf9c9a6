import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { levelOf } from '../../../common/ids/index.js';
import type { Classification } from '../../../common/stores/index.js';
import {
  buildSnapshot,
  CLASSIFICATIONS,
  COLUMNS,
  POLICY_ACTIONS,
  type PolicyAction,
  type PolicyRequest,
  type PolicySnapshot,
  type PolicySources,
  readPolicySet,
  SUBJECT_KINDS,
  type SubjectKind,
} from '../../../nodes/policy/engine/index.js';

export const SET_DIR = 'policies/sets/cluster-default';
export const MODEL_TEXT = readFileSync('policies/model.conf', 'utf8');

/** The shipped baseline as sources, to build variants of in memory. */
export function defaultSources(): PolicySources {
  return readPolicySet(SET_DIR);
}

/** A set from rule lines (no samples), read through the shipped model. */
export function sourcesOf(files: Readonly<Record<string, string>>, samples?: string): PolicySources {
  return {
    model: { name: 'model.conf', text: MODEL_TEXT },
    ruleFiles: Object.entries(files).map(([name, text]) => ({ name, text })),
    ...(samples === undefined ? {} : { samples: { name: 'samples.yaml', text: samples } }),
  };
}

export async function snapshotOf(files: Readonly<Record<string, string>>): Promise<PolicySnapshot> {
  return buildSnapshot(sourcesOf(files));
}

/** A rule line from the columns that are not `*`. */
export function line(id: string, eft: 'allow' | 'deny', cells: Partial<Record<string, string>> = {}): string {
  return `p, ${COLUMNS.map((c) => (c === 'id' ? id : c === 'eft' ? eft : (cells[c] ?? '*'))).join(', ')}`;
}

export interface RequestFields {
  kind?: SubjectKind;
  city: string;
  industry: string;
  region: string;
  level?: PolicyRequest['subject']['level'];
  roles?: string[];
  owner: string;
  objectIndustry: string;
  objectRegion: string;
  classification: Classification;
  id?: string;
  action?: PolicyAction;
  purpose?: string;
  agreement?: boolean;
  ceiling?: Classification;
}

export function request(f: RequestFields): PolicyRequest {
  return {
    subject: {
      kind: f.kind ?? 'app',
      id: 'subject-1',
      city: f.city,
      industry: f.industry,
      level: f.level ?? levelOf(f.region),
      region: f.region,
      roles: f.roles ?? [],
    },
    object: {
      ownerCity: f.owner,
      id: f.id ?? `jjj/${f.owner}/${f.objectIndustry}-bureau/records`,
      industry: f.objectIndustry,
      region: f.objectRegion,
      classification: f.classification,
      kind: 'dataset',
    },
    action: f.action ?? 'read',
    purpose: f.purpose ?? '',
    context:
      f.ceiling === undefined
        ? { agreement: f.agreement ?? false }
        : { agreement: f.agreement ?? false, grantMaxClassification: f.ceiling },
  };
}

// --- fast-check arbitraries over a small, overlapping attribute space -----------------------

export const CITIES = ['beijing', 'tianjin', 'shijiazhuang', 'langfang', 'shanghai'] as const;
export const SOME_INDUSTRIES = ['health', 'transport', 'environment', 'education', 'public-safety', 'energy'] as const;
export const REGIONS = [
  '000000',
  '110000',
  '120000',
  '130000',
  '130100',
  '130102',
  '130104',
  '110105',
  '110108',
  '120101',
  '441900',
  '441900003',
  '110105001',
  '110105002',
  '110108001',
  '130102001',
  '110105001001',
  '110105001002',
  '120101001001',
] as const;
export const PURPOSES = ['', 'treatment', 'planning', 'emergency', 'public-health', 'investigation'] as const;

export const requestArb: fc.Arbitrary<PolicyRequest> = fc
  .record({
    kind: fc.constantFrom(...SUBJECT_KINDS),
    city: fc.constantFrom(...CITIES),
    industry: fc.constantFrom(...SOME_INDUSTRIES),
    // The same region on both sides often enough to tell `within` from `above` and `below`.
    regions: fc.oneof(
      { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...REGIONS), fc.constantFrom(...REGIONS)) },
      { weight: 1, arbitrary: fc.constantFrom(...REGIONS).map((r) => [r, r] as [string, string]) },
    ),
    roles: fc.subarray(['admin', 'doctor']),
    owner: fc.constantFrom(...CITIES),
    objectIndustry: fc.constantFrom(...SOME_INDUSTRIES),
    classification: fc.constantFrom(...CLASSIFICATIONS),
    org: fc.constantFrom('transport-bureau', 'public-security'),
    action: fc.constantFrom(...POLICY_ACTIONS),
    purpose: fc.constantFrom(...PURPOSES),
    agreement: fc.boolean(),
    ceiling: fc.option(fc.constantFrom(...CLASSIFICATIONS), { nil: undefined }),
  })
  .map(({ regions: [region, objectRegion], ...r }) =>
    request({ ...r, region, objectRegion, id: `jjj/${r.owner}/${r.org}/records` }),
  );

/** Mostly `*`, so that random rules match random requests often enough to compare outcomes. */
const sometimes = (arbitrary: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 4, arbitrary: fc.constant('*') }, { weight: 1, arbitrary });

const alternativesOf = (values: readonly string[]) =>
  sometimes(fc.subarray([...values], { minLength: 1, maxLength: 3 }).map((v) => v.join('|')));

/** Any valid rule line over the same attribute space; ids are numbered by the caller. */
export const ruleCellsArb = fc.record({
  eft: fc.constantFrom('allow', 'allow', 'deny') as fc.Arbitrary<'allow' | 'deny'>,
  act: alternativesOf(POLICY_ACTIONS),
  who: alternativesOf([...SUBJECT_KINDS, 'role:admin']),
  sub_city: alternativesOf([...CITIES, '$owner', '$other']),
  sub_industry: alternativesOf([...SOME_INDUSTRIES, '$same', '$other']),
  sub_level: alternativesOf(['national', 'province', 'city', 'district', 'street', 'community']),
  sub_region: sometimes(fc.constantFrom(...REGIONS)),
  relation: sometimes(fc.constantFrom('self', 'within', 'above', 'below')),
  obj_city: alternativesOf(CITIES),
  obj_industry: alternativesOf(SOME_INDUSTRIES),
  obj_region: sometimes(fc.constantFrom(...REGIONS)),
  resource: sometimes(fc.constantFrom('jjj/beijing/*', 'jjj/tianjin/transport-bureau/records', 'jjj/*')),
  class: sometimes(fc.constantFrom('public', '<=internal', '<=sensitive', '>=sensitive', 'restricted')),
  purpose: sometimes(fc.constantFrom('declared', 'none', 'treatment|emergency', '!treatment|public-health')),
  agreement: sometimes(fc.constantFrom('required', 'absent')),
});

export type RuleCells = typeof ruleCellsArb extends fc.Arbitrary<infer T> ? T : never;

export function ruleFile(rules: readonly RuleCells[]): string {
  return rules.map((cells, i) => line(`r${i}`, cells.eft, cells)).join('\n');
}
