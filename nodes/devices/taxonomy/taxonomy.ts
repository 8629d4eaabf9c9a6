import { didYouMean } from '../../../common/config/did-you-mean.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { quoteValue, requireString } from '../../../common/ids/identifier-error.js';
import { INDUSTRIES, type IndustryId, parseIndustry } from '../../../common/ids/industry.js';
import type { DeviceType } from './schema.js';

/** The device types of every industry, validated and indexed. */
export interface Taxonomy {
  /** Industries that have device types, in registry order. */
  industries(): readonly IndustryId[];
  /** @throws MeshError `INVALID_IDENTIFIER` for an unregistered industry (with a suggestion) */
  types(industry: string): readonly DeviceType[];
  /**
   * A device type by id. @throws MeshError `INVALID_IDENTIFIER`: rule `known-industry` for
   * an unregistered industry, `known-device-type` for an unknown type (with a suggestion)
   */
  type(industry: string, typeId: string): DeviceType;
  /** The device type, or undefined: the non-throwing lookup for bulk paths such as imports. */
  find(industry: string, typeId: string): DeviceType | undefined;
  /** Number of device types over all industries. */
  readonly size: number;
}

function unknownType(industry: IndustryId, typeId: string, known: readonly string[]): MeshError {
  const suggestion = didYouMean(typeId, known);
  const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`;
  return new MeshError(
    'INVALID_IDENTIFIER',
    `deviceType ${quoteValue(typeId)} is not a device type of industry ${industry}${hint}`,
    { details: { field: 'deviceType', rule: 'known-device-type', value: typeId.slice(0, 256), industry } },
  );
}

/**
 * Indexes validated device types. Telemetry validators are compiled on a type's first
 * reading (`telemetryValidatorOf`, some microseconds): compiling all 1,251 here held about
 * 1.2 MB for types a city may never see.
 */
export function buildTaxonomy(byIndustry: ReadonlyMap<IndustryId, readonly DeviceType[]>): Taxonomy {
  const index = new Map<string, Map<string, DeviceType>>();
  const lists = new Map<string, readonly DeviceType[]>();
  let size = 0;
  for (const [industry, types] of byIndustry) {
    index.set(industry, new Map(types.map((type) => [type.id, type])));
    lists.set(industry, Object.freeze([...types]));
    size += types.length;
  }
  const industries = Object.freeze(INDUSTRIES.map((info) => info.id).filter((id) => index.has(id)));
  const empty: readonly DeviceType[] = Object.freeze([]);

  return Object.freeze({
    industries: () => industries,
    types: (industry: string) => lists.get(parseIndustry(industry)) ?? empty,
    type(industry: string, typeId: string): DeviceType {
      const id = parseIndustry(industry);
      const value = requireString(typeId, 'deviceType');
      const types = index.get(id);
      const found = types?.get(value);
      if (found === undefined) throw unknownType(id, value, types === undefined ? [] : [...types.keys()]);
      return found;
    },
    find: (industry: string, typeId: string) => index.get(industry)?.get(typeId),
    size,
  });
}
