import { identifierError, quoteValue, requirePattern, requireString } from './identifier-error.js';

declare const cityBrand: unique symbol;

/** A city name such as `beijing` or `taizhou-js`, unique within its cluster. */
export type CityName = string & { readonly [cityBrand]: true };

/**
 * City names: lowercase, may contain single hyphens (`taizhou-js` and `taizhou-zj`
 * are two different cities), never a dot, so `<city>.<cluster>.citymesh` splits cleanly.
 */
export const CITY_NAME_PATTERN = /^[a-z][a-z0-9-]{1,31}$/;

/**
 * Parses a city name.
 *
 * @throws MeshError `INVALID_IDENTIFIER` (rules `type`, `pattern`, `trailing-hyphen`, `double-hyphen`)
 */
export function parseCityName(input: unknown, field = 'city'): CityName {
  const value = requirePattern(requireString(input, field), CITY_NAME_PATTERN, field);
  if (value.endsWith('-')) {
    throw identifierError(field, 'trailing-hyphen', value, `${field} ${quoteValue(value)} must not end with "-"`);
  }
  // A double hyphen is reserved: IDNA uses "xn--", and it reads as a separator.
  if (value.includes('--')) {
    throw identifierError(field, 'double-hyphen', value, `${field} ${quoteValue(value)} must not contain "--"`);
  }
  return value as CityName;
}

/** True when `input` is a valid city name. */
export function isCityName(input: unknown): input is CityName {
  return typeof input === 'string' && CITY_NAME_PATTERN.test(input) && !input.endsWith('-') && !input.includes('--');
}
