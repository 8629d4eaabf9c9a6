import { identifierError, quoteValue } from './identifier-error.js';
import { CITIES_WITHOUT_DISTRICTS, levelOf, parseRegionCode, type RegionCode } from './region.js';

/**
 * A generated street or community. Official street (GB/T 10114) and community lists are
 * not bundled, so demos and tests use generated codes; `synthetic: true` keeps them from
 * being mistaken for real divisions (a synthetic code may coincide with a real one).
 */
export interface SyntheticRegion {
  readonly code: RegionCode;
  readonly level: 'street' | 'community';
  readonly parent: RegionCode;
  /** `synthetic street 003 of 110105` */
  readonly name: string;
  readonly synthetic: true;
}

/** Each level below a district adds three digits, so at most 999 children (001–999). */
export const MAX_SYNTHETIC_CHILDREN = 999;

function generate(parent: RegionCode, n: number, level: 'street' | 'community'): readonly SyntheticRegion[] {
  if (!Number.isInteger(n) || n < 0 || n > MAX_SYNTHETIC_CHILDREN) {
    throw new RangeError(`n must be an integer from 0 to ${MAX_SYNTHETIC_CHILDREN}, got ${n}`);
  }
  const out: SyntheticRegion[] = [];
  for (let i = 1; i <= n; i++) {
    const suffix = String(i).padStart(3, '0');
    out.push(
      Object.freeze({
        code: `${parent}${suffix}` as RegionCode,
        level,
        parent,
        name: `synthetic ${level} ${suffix} of ${parent}`,
        synthetic: true as const,
      }),
    );
  }
  return Object.freeze(out);
}

/**
 * Generates `n` street codes (9 digits) below a district, numbered 001 upwards;
 * deterministic, so the same call always gives the same codes.
 *
 * @throws MeshError `INVALID_REGION_CODE` (rule `street-parent`) unless `district` is a
 *   district-level code or a city without districts; RangeError for a bad `n`
 */
export function syntheticStreets(district: string, n: number): readonly SyntheticRegion[] {
  const code = parseRegionCode(district, 'district');
  if (levelOf(code) !== 'district' && !CITIES_WITHOUT_DISTRICTS.has(code)) {
    throw identifierError(
      'district',
      'street-parent',
      code,
      `district ${quoteValue(code)} is a ${levelOf(code)}, not a district`,
      'INVALID_REGION_CODE',
    );
  }
  return generate(code, n, 'street');
}

/**
 * Generates `n` community codes (12 digits) below a street, numbered 001 upwards.
 *
 * @throws MeshError `INVALID_REGION_CODE` (rule `community-parent`) unless `street` is a
 *   street code; RangeError for a bad `n`
 */
export function syntheticCommunities(street: string, n: number): readonly SyntheticRegion[] {
  const code = parseRegionCode(street, 'street');
  if (levelOf(code) !== 'street') {
    throw identifierError(
      'street',
      'community-parent',
      code,
      `street ${quoteValue(code)} is a ${levelOf(code)}, not a street`,
      'INVALID_REGION_CODE',
    );
  }
  return generate(code, n, 'community');
}
