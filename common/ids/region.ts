import { identifierError, quoteValue, requireString } from './identifier-error.js';
import type { RegionLevel } from './region-level.js';

declare const regionBrand: unique symbol;

/** A valid region code: 6 (GB/T 2260), 9 (street) or 12 (community) digits. */
export type RegionCode = string & { readonly [regionBrand]: true };

/**
 * The whole country. GB/T 2260 has no national code; `000000` is a citymesh convention
 * so that "national" is a region like any other: it contains every code and is the last
 * ancestor of each.
 */
export const NATIONAL_REGION = '000000' as RegionCode;

/**
 * The first two digits of every province-level division in GB/T 2260: 11–15 (North),
 * 21–23 (North-east), 31–37 (East), 41–46 (Central-South), 50–54 (South-west),
 * 61–65 (North-west), 71 (Taiwan), 81 and 82 (Hong Kong and Macao SARs).
 */
export const PROVINCE_PREFIXES: ReadonlySet<string> = new Set(
  '11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82'.split(' '),
);

/** Province-level municipalities (直辖市): Beijing, Tianjin, Shanghai, Chongqing. */
export const MUNICIPALITY_CODES: ReadonlySet<string> = new Set(['110000', '120000', '310000', '500000']);

/** Special administrative regions: Hong Kong, Macao. */
export const SAR_CODES: ReadonlySet<string> = new Set(['810000', '820000']);

/**
 * Prefecture-level cities with no county level (不设区的地级市): Dongguan, Zhongshan,
 * Danzhou, Jiayuguan. Their towns and streets sit directly below the city, so their
 * 9-digit codes start with the city code (`441900003`).
 */
export const CITIES_WITHOUT_DISTRICTS: ReadonlySet<string> = new Set(['441900', '442000', '460400', '620200']);

const fail = (field: string, rule: string, value: unknown, what: string) =>
  identifierError(field, rule, value, `${field} ${quoteValue(value)} ${what}`, 'INVALID_REGION_CODE');

/**
 * `XXYY00` codes that group divisions without being a region themselves: a municipality's
 * `XX0100` (市辖区) and `XX0200` (县), and any province's `XX9000` (省直辖县级行政区划).
 * Their divisions' parent is the province code.
 */
function isGroupingPrefix(xx: string, yy: string): boolean {
  return yy === '90' || MUNICIPALITY_CODES.has(`${xx}0000`);
}

/** The level of a code already known to be valid. */
function levelOfValid(code: string): RegionLevel {
  if (code.length === 12) return 'community';
  if (code.length === 9) return 'street';
  if (code === NATIONAL_REGION) return 'national';
  if (code.endsWith('0000')) return 'province';
  if (code.endsWith('00')) return 'city';
  return 'district';
}

/** True when a 6-digit code may carry 9-digit street codes below it. */
function hasStreets(six: string): boolean {
  return levelOfValid(six) === 'district' || CITIES_WITHOUT_DISTRICTS.has(six);
}

/**
 * Parses a region code: digits only; 6, 9 or 12 digits; a real GB/T 2260 province
 * prefix; not a grouping code (`110100`); a 9-digit code below a district-level code
 * (or a city without districts), a 12-digit code below a street code; street and
 * community suffixes are never `000`.
 *
 * @throws MeshError `INVALID_REGION_CODE` with `details.rule` one of `type`, `digits`,
 *   `length`, `province`, `grouping-code`, `street-parent`, `street-suffix`,
 *   `community-parent`, `community-suffix`
 */
export function parseRegionCode(input: unknown, field = 'region'): RegionCode {
  const code = requireString(input, field, 'INVALID_REGION_CODE');
  if (!/^[0-9]+$/.test(code)) throw fail(field, 'digits', code, 'must contain digits only');
  if (code.length !== 6 && code.length !== 9 && code.length !== 12) {
    throw fail(field, 'length', code, 'must have 6, 9 or 12 digits');
  }
  if (code === NATIONAL_REGION) return code as RegionCode;
  const xx = code.slice(0, 2);
  const yy = code.slice(2, 4);
  const zz = code.slice(4, 6);
  const six = code.slice(0, 6);
  if (!PROVINCE_PREFIXES.has(xx)) throw fail(field, 'province', code, `has no GB/T 2260 province "${xx}"`);
  if (yy !== '00' && zz === '00' && isGroupingPrefix(xx, yy)) {
    throw fail(
      field,
      'grouping-code',
      code,
      `starts with the grouping code ${six}, which is not a region; its divisions belong to ${xx}0000`,
    );
  }
  if (code.length === 6) return code as RegionCode;

  const level = code.length === 9 ? 'street' : 'community';
  if (!hasStreets(six)) {
    throw fail(field, `${level}-parent`, code, `must start with a district-level code, not ${six}`);
  }
  if (code.slice(6, 9) === '000') {
    throw fail(
      field,
      level === 'street' ? 'street-suffix' : 'community-parent',
      code,
      'has street digits 000, which name no street',
    );
  }
  if (code.length === 12 && code.slice(9) === '000') {
    throw fail(field, 'community-suffix', code, 'has community digits 000, which name no community');
  }
  return code as RegionCode;
}

/** True when `input` is a valid region code. */
export function isRegionCode(input: unknown): input is RegionCode {
  try {
    parseRegionCode(input);
    return true;
  } catch {
    return false;
  }
}

/**
 * The level of a region, derived from its code: `000000` national, `XX0000` province,
 * `XXYY00` city, other 6-digit codes district, 9 digits street, 12 digits community.
 * Municipalities and SARs are `province` here ({@link actsAsCity} says they are cities too).
 *
 * @throws MeshError `INVALID_REGION_CODE` when `code` does not parse
 */
export function levelOf(code: string): RegionLevel {
  return levelOfValid(parseRegionCode(code));
}

/** True for Beijing, Tianjin, Shanghai and Chongqing (110000, 120000, 310000, 500000). */
export function isMunicipality(code: string): boolean {
  return MUNICIPALITY_CODES.has(parseRegionCode(code));
}

/** True for Hong Kong and Macao (810000, 820000). */
export function isSpecialAdministrativeRegion(code: string): boolean {
  return SAR_CODES.has(parseRegionCode(code));
}

/**
 * True when the region is governed as a city: a prefecture-level city, or a
 * province-level municipality or SAR, which are provinces and cities at once.
 */
export function actsAsCity(code: string): boolean {
  const valid = parseRegionCode(code);
  return levelOfValid(valid) === 'city' || MUNICIPALITY_CODES.has(valid) || SAR_CODES.has(valid);
}

/**
 * The region directly containing `code`, or undefined for national. Districts of a
 * municipality, a SAR or a province's directly administered counties have the province
 * as parent, since their `XXYY00` prefix is no region.
 *
 * @throws MeshError `INVALID_REGION_CODE` when `code` does not parse
 */
export function parentOf(code: string): RegionCode | undefined {
  const valid = parseRegionCode(code);
  switch (levelOfValid(valid)) {
    case 'national':
      return undefined;
    case 'province':
      return NATIONAL_REGION;
    case 'city':
      return `${valid.slice(0, 2)}0000` as RegionCode;
    case 'district': {
      const xx = valid.slice(0, 2);
      const yy = valid.slice(2, 4);
      return (yy === '00' || isGroupingPrefix(xx, yy) ? `${xx}0000` : `${xx}${yy}00`) as RegionCode;
    }
    case 'street':
      return valid.slice(0, 6) as RegionCode;
    case 'community':
      return valid.slice(0, 9) as RegionCode;
  }
}

/**
 * Every region containing `code`, nearest first and national last
 * (`ancestorsOf('110105')` is `['110000', '000000']`); empty for national.
 */
export function ancestorsOf(code: string): readonly RegionCode[] {
  const ancestors: RegionCode[] = [];
  for (let parent = parentOf(code); parent !== undefined; parent = parentOf(parent)) ancestors.push(parent);
  return Object.freeze(ancestors);
}

/**
 * True when region `a` is `b` or contains it. National contains every region; a region
 * never contains a sibling (`110105` does not contain `110108`).
 *
 * @throws MeshError `INVALID_REGION_CODE` when either code does not parse
 */
export function contains(a: string, b: string): boolean {
  const outer = parseRegionCode(a, 'a');
  const inner = parseRegionCode(b, 'b');
  return outer === inner || ancestorsOf(inner).includes(outer);
}

/** True when region `a` is `b` or lies within it: `contains(b, a)`. */
export function isSameOrBelow(a: string, b: string): boolean {
  return contains(b, a);
}
