import { MeshError } from '../../../common/errors/mesh-error.js';
import { getCity } from '../../../common/ids/clusters.js';
import { DEVICE_ID_PATTERN } from '../../../common/ids/device-id.js';
import { quoteValue } from '../../../common/ids/identifier-error.js';
import { isIndustry } from '../../../common/ids/industry.js';
import { parseRegionCode } from '../../../common/ids/region.js';
import { RESOURCE_SEGMENT_PATTERN } from '../../../common/ids/resource-id.js';
import { type Device, type DeviceCredential, MAX_DEVICE_CREDENTIALS } from '../../../common/stores/device-store.js';
import { defaultTaxonomy, type Taxonomy } from '../taxonomy/index.js';
import { checkCredential } from './credential-checks.js';
import { DeviceFault, unknownMember } from './device-fault.js';
import { checkAttributes, industryFault, regionVerdict } from './field-checks.js';
import { type JwkProblem, publicJwkProblem } from './public-jwk.js';

/** The fields of a device description (a manifest line, a registration). */
export const DEVICE_FIELDS: readonly string[] = [
  'deviceId',
  'type',
  'industry',
  'regionCode',
  'ownerOrg',
  'credentials',
  'attributes',
];
const DEVICE_FIELD_SET: ReadonlySet<string> = new Set(DEVICE_FIELDS);

/** Region codes seen, with their verdict: a city has a few thousand, a manifest repeats them. */
const MAX_CACHED_REGIONS = 50_000;

export interface DeviceCheckerInit {
  /** The node's city: every device registered here belongs to it. */
  readonly city: string;
  /** The city's GB/T 2260 code (`120000`); a device's region must lie within it. */
  readonly cityRegion: string;
  readonly taxonomy: Taxonomy;
  /** The public-key check; default the shape check. Single registrations pass the full one. */
  readonly keyCheck?: (jwk: unknown) => JwkProblem | undefined;
}

const NO_CREDENTIALS: readonly DeviceCredential[] = Object.freeze([]);
const REQUIRED = ['deviceId', 'type', 'industry', 'regionCode', 'ownerOrg'] as const;

/** How many of `names` are absent (or undefined) in `raw`. */
function missing(raw: Record<string, unknown>, names: readonly string[]): number {
  let n = 0;
  for (const name of names) if (raw[name] === undefined) n++;
  return n;
}

/**
 * The rules a device of this city must meet, compiled once: fixed sets, precompiled
 * patterns and caches of region verdicts, so a bulk import pays about a microsecond a
 * line. Failures come back as {@link DeviceFault} values, not exceptions; the first bad
 * field of a description is reported.
 */
export class DeviceChecker {
  readonly city: string;
  readonly cityRegion: string;
  readonly #taxonomy: Taxonomy;
  readonly #keyCheck: (jwk: unknown) => JwkProblem | undefined;
  readonly #regions = new Map<string, DeviceFault | null>();

  constructor(init: DeviceCheckerInit) {
    this.city = init.city;
    this.cityRegion = parseRegionCode(init.cityRegion, 'cityRegion');
    this.#taxonomy = init.taxonomy;
    this.#keyCheck = init.keyCheck ?? publicJwkProblem;
  }

  /**
   * The device a description stands for, `active`, created and updated `at` (the caller
   * passes one instant per batch), or the fault of its first bad field.
   */
  check(input: unknown, at: Date): Device | DeviceFault {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      return new DeviceFault('', 'MALFORMED_REQUEST', 'a device must be a JSON object');
    }
    const raw = input as Record<string, unknown>;
    const {
      deviceId,
      type,
      industry,
      regionCode,
      ownerOrg,
      credentials: rawCredentials,
      attributes: rawAttributes,
    } = raw;
    const present =
      5 + (rawCredentials === undefined ? 0 : 1) + (rawAttributes === undefined ? 0 : 1) - missing(raw, REQUIRED);
    const unknown = present === Object.keys(raw).length ? undefined : unknownMember(raw, DEVICE_FIELD_SET);
    if (unknown !== undefined) {
      return new DeviceFault(
        unknown,
        'MALFORMED_REQUEST',
        `${unknown} is not a device field; one of ${DEVICE_FIELDS.join(', ')}`,
      );
    }
    if (typeof deviceId !== 'string' || !DEVICE_ID_PATTERN.test(deviceId)) {
      return new DeviceFault(
        'deviceId',
        'INVALID_IDENTIFIER',
        `deviceId ${quoteValue(deviceId)} must be 1-128 characters of [A-Za-z0-9._:-], starting with a letter or digit`,
      );
    }
    if (typeof industry !== 'string' || !isIndustry(industry)) return industryFault(industry);
    if (typeof type !== 'string' || this.#taxonomy.find(industry, type) === undefined) {
      return this.#typeFault(industry, type);
    }
    const region = this.regionFault(regionCode);
    if (region !== null) return region;
    if (typeof ownerOrg !== 'string' || !RESOURCE_SEGMENT_PATTERN.test(ownerOrg)) {
      return new DeviceFault(
        'ownerOrg',
        'INVALID_IDENTIFIER',
        `ownerOrg ${quoteValue(ownerOrg)} must be an organisation short name: [a-z0-9][a-z0-9._-]{0,63}`,
      );
    }
    const credentials = rawCredentials === undefined ? NO_CREDENTIALS : this.#credentials(rawCredentials);
    if (credentials instanceof DeviceFault) return credentials;
    const attributes = rawAttributes === undefined ? undefined : checkAttributes(rawAttributes);
    if (attributes instanceof DeviceFault) return attributes;
    const city = this.city;
    // Two literals rather than a spread: one allocation per device on the bulk path.
    // `{}` and absent are the same device (the store drops empty attributes).
    return attributes === undefined
      ? {
          city,
          deviceId,
          type,
          industry,
          regionCode: regionCode as string,
          ownerOrg,
          status: 'active',
          credentials,
          createdAt: at,
          updatedAt: at,
        }
      : {
          city,
          deviceId,
          type,
          industry,
          regionCode: regionCode as string,
          ownerOrg,
          status: 'active',
          credentials,
          attributes,
          createdAt: at,
          updatedAt: at,
        };
  }

  /**
   * What rebuilds this checker in another thread (a bulk import checks lines in a worker),
   * or undefined when its rules cannot cross threads: a taxonomy other than the bundled
   * one, or a key check of its own.
   */
  get threadInit(): { readonly city: string; readonly cityRegion: string } | undefined {
    if (this.#keyCheck !== publicJwkProblem || this.#taxonomy !== defaultTaxonomy()) return undefined;
    return { city: this.city, cityRegion: this.cityRegion };
  }

  /** Null when `code` is a valid region code inside the city, the fault otherwise. */
  regionFault(code: unknown): DeviceFault | null {
    if (typeof code !== 'string') return regionVerdict(code, this.cityRegion, this.city);
    const known = this.#regions.get(code);
    if (known !== undefined) return known;
    const verdict = regionVerdict(code, this.cityRegion, this.city);
    if (this.#regions.size >= MAX_CACHED_REGIONS) this.#regions.clear();
    this.#regions.set(code, verdict);
    return verdict;
  }

  /** One credential, checked as in a manifest line; `field` says where it came from. */
  credential(input: unknown, field = 'credential'): DeviceCredential | DeviceFault {
    return checkCredential(input, field, this.#keyCheck);
  }

  #credentials(input: unknown): readonly DeviceCredential[] | DeviceFault {
    if (!Array.isArray(input))
      return new DeviceFault('credentials', 'MALFORMED_REQUEST', 'credentials must be an array');
    if (input.length > MAX_DEVICE_CREDENTIALS) {
      return new DeviceFault(
        'credentials',
        'MALFORMED_REQUEST',
        `credentials holds ${input.length} keys; a device has at most ${MAX_DEVICE_CREDENTIALS}`,
      );
    }
    const out: DeviceCredential[] = [];
    for (let i = 0; i < input.length; i++) {
      const credential = checkCredential(input[i], `credentials[${i}]`, this.#keyCheck);
      if (credential instanceof DeviceFault) return credential;
      if (out.some((c) => c.credentialId === credential.credentialId)) {
        return new DeviceFault(
          `credentials[${i}].credentialId`,
          'MALFORMED_REQUEST',
          `credentials[${i}].credentialId ${quoteValue(credential.credentialId)} appears twice`,
        );
      }
      out.push(credential);
    }
    return out;
  }

  #typeFault(industry: string, type: unknown): DeviceFault {
    try {
      this.#taxonomy.type(industry, type as string);
    } catch (err) {
      if (err instanceof MeshError)
        return new DeviceFault('type', err.code, err.message.replace(/^deviceType/, 'type'));
      throw err;
    }
    return new DeviceFault('type', 'INVALID_IDENTIFIER', `type ${quoteValue(type)} is unknown in ${industry}`);
  }
}

/**
 * The checker of a bundled city (its GB/T 2260 code from the cluster catalogue), with the
 * shipped taxonomy unless another is given.
 *
 * @throws MeshError `MEMBER_NOT_FOUND` for a city no bundled cluster has
 */
export function cityDeviceChecker(city: string, taxonomy: Taxonomy = defaultTaxonomy()): DeviceChecker {
  return new DeviceChecker({ city, cityRegion: getCity(city).region, taxonomy });
}
