import { contains } from '../../../common/ids/index.js';
import type { Classification } from '../../../common/stores/index.js';

/*
 * What policies/sets/cluster-default should decide, written from its README and the
 * comments of its rule files, without the engine: the decision matrix checks the engine
 * against this, and this against the literal table.
 */

export interface MatrixCase {
  readonly subjectCity: string;
  readonly subjectIndustry: string;
  readonly level: string;
  readonly subjectRegion: string;
  readonly kind: 'app' | 'device';
  readonly roles: readonly string[];
  readonly objectCity: string;
  readonly objectIndustry: string;
  readonly objectRegion: string;
  readonly classification: Classification;
  readonly action: 'read' | 'subscribe' | 'invoke' | 'publish' | 'administer';
  readonly purpose: string;
  readonly agreement: boolean;
}

const RANK = { public: 0, internal: 1, sensitive: 2, restricted: 3 } as const;
const HEALTH_PURPOSES = ['treatment', 'public-health', 'emergency'];

export function oracle(c: MatrixCase): boolean {
  const rank = RANK[c.classification];
  const using = c.action === 'read' || c.action === 'subscribe' || c.action === 'invoke';
  const following = c.action === 'read' || c.action === 'subscribe';
  const own = c.subjectCity === c.objectCity;
  const inside = contains(c.subjectRegion, c.objectRegion);
  const strictlyInside = inside && c.subjectRegion !== c.objectRegion;
  const sameIndustry = c.subjectIndustry === c.objectIndustry;

  // The guard rails come first: each of them denies whatever else allows.
  if (using && rank >= RANK.sensitive && (c.purpose === '' || !c.agreement)) return false;
  if (using && c.objectIndustry === 'health' && c.subjectIndustry !== 'health' && rank >= RANK.internal) {
    if (!HEALTH_PURPOSES.includes(c.purpose) || !c.agreement) return false;
  }
  if (using && c.kind === 'device' && rank >= RANK.sensitive) return false;

  if (using && rank === RANK.public) return true;
  if (using && own && inside && rank <= RANK.internal) return true;
  if (using && own && inside && rank <= RANK.sensitive && c.purpose !== '' && c.agreement) return true;
  if (following && ['national', 'province'].includes(c.level) && strictlyInside && rank <= RANK.internal) return true;
  if (c.action === 'publish' && own && inside) return true;
  if (c.action === 'administer' && c.roles.includes('admin') && own && inside) return true;
  // The baseline grants.
  const env = c.subjectIndustry === 'environment' && c.objectIndustry === 'environment';
  if (following && !own && env && rank <= RANK.internal) return true;
  const health = c.subjectIndustry === 'health' && c.objectIndustry === 'health';
  const treating = ['treatment', 'public-health'].includes(c.purpose);
  if (c.action === 'read' && !own && health && rank <= RANK.sensitive && treating && c.agreement) return true;
  const safety = c.subjectIndustry === 'public-safety' && c.objectIndustry === 'public-safety';
  if (following && !own && safety && c.purpose === 'emergency' && c.agreement) return true;
  if (c.action === 'read' && own && sameIndustry && inside && c.purpose !== '' && c.agreement) return true;
  return false;
}

/** Subject regions by city and level, as the matrix uses them. */
export const MATRIX_REGIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  beijing: {
    national: '000000',
    province: '110000',
    city: '110000',
    district: '110105',
    street: '110105001',
    community: '110105001001',
  },
  tianjin: {
    national: '000000',
    province: '120000',
    city: '120000',
    district: '120101',
    street: '120101001',
    community: '120101001001',
  },
  shijiazhuang: {
    national: '000000',
    province: '130000',
    city: '130100',
    district: '130102',
    street: '130102001',
    community: '130102001001',
  },
};
export const MATRIX_CITIES = ['beijing', 'tianjin', 'shijiazhuang'] as const;
export const MATRIX_INDUSTRIES = ['health', 'transport', 'environment', 'education', 'public-safety'] as const;
export const MATRIX_LEVELS = ['national', 'province', 'city', 'district', 'street', 'community'] as const;
export const MATRIX_CLASSES = ['public', 'internal', 'sensitive', 'restricted'] as const;
/** The purpose an office of each industry declares in the matrix's "with purpose and agreement" half. */
export const PURPOSE_OF: Readonly<Record<string, string>> = { health: 'treatment', 'public-safety': 'emergency' };
export const purposeOf = (industry: string): string => PURPOSE_OF[industry] ?? 'planning';
