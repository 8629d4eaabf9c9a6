import { MeshError } from '../../../common/errors/mesh-error.js';
import { quoteValue } from '../../../common/ids/identifier-error.js';
import { parseIndustry } from '../../../common/ids/industry.js';
import { contains, parseRegionCode } from '../../../common/ids/region.js';
import { DeviceFault } from './device-fault.js';

/*
 * The slow paths of the device checks: building the fault of a bad field (with the
 * suggestion the parsers give), and the checks whose verdict the checker caches.
 */

/** Attribute names: what policy rules can refer to (`r.sub.attributes.vendor`). */
export const ATTRIBUTE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;
export const MAX_ATTRIBUTES = 32;
export const MAX_ATTRIBUTE_LENGTH = 256;

/** The fault of an industry that is not registered, with the parser's suggestion. */
export function industryFault(industry: unknown): DeviceFault {
  try {
    parseIndustry(industry, 'industry');
  } catch (err) {
    if (err instanceof MeshError) return new DeviceFault('industry', err.code, err.message);
    throw err;
  }
  return new DeviceFault('industry', 'INVALID_IDENTIFIER', `industry ${quoteValue(industry)} is not registered`);
}

/** Null when `code` is a valid region code inside the city, the fault otherwise. */
export function regionVerdict(code: unknown, cityRegion: string, city: string): DeviceFault | null {
  try {
    parseRegionCode(code, 'regionCode');
  } catch (err) {
    if (err instanceof MeshError) return new DeviceFault('regionCode', err.code, err.message);
    throw err;
  }
  if (contains(cityRegion, code as string)) return null;
  return new DeviceFault(
    'regionCode',
    'DEVICE_WRONG_CITY',
    `regionCode ${quoteValue(code)} is not inside ${city} (${cityRegion}): a node registers its own city's devices only`,
  );
}

/** The attributes as stored (undefined when empty), or the fault of the first bad one. */
export function checkAttributes(input: unknown): Readonly<Record<string, string>> | DeviceFault | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return new DeviceFault('attributes', 'MALFORMED_REQUEST', 'attributes must be an object of strings');
  }
  let count = 0;
  for (const [name, value] of Object.entries(input)) {
    if (!ATTRIBUTE_NAME_PATTERN.test(name)) {
      return new DeviceFault(
        `attributes.${name}`,
        'MALFORMED_REQUEST',
        `attributes: name ${quoteValue(name)} must match [A-Za-z][A-Za-z0-9_.:-]{0,63}`,
      );
    }
    if (typeof value !== 'string' || value.length > MAX_ATTRIBUTE_LENGTH) {
      return new DeviceFault(
        `attributes.${name}`,
        'MALFORMED_REQUEST',
        `attributes.${name} must be a string of at most ${MAX_ATTRIBUTE_LENGTH} characters`,
      );
    }
    count++;
  }
  if (count > MAX_ATTRIBUTES) {
    return new DeviceFault('attributes', 'MALFORMED_REQUEST', `attributes holds ${count}; at most ${MAX_ATTRIBUTES}`);
  }
  return count === 0 ? undefined : (input as Readonly<Record<string, string>>);
}
