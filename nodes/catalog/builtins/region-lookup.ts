import { districtsOf, listClusters } from '../../../common/ids/clusters.js';
import { ancestorsOf, contains, levelOf, parseRegionCode } from '../../../common/ids/region.js';
import type { JsonObject, JsonValue } from '../../../common/stores/json.js';
import type { BuiltinHandler } from './handler.js';

const inputSchema: JsonObject = {
  type: 'object',
  properties: { regionCode: { type: 'string', pattern: '^[0-9]{6}([0-9]{3}){0,2}$' } },
  required: ['regionCode'],
  additionalProperties: false,
};

/** The bundled city containing a code (a municipality contains its districts), if any. */
function cityOf(code: string): JsonValue {
  for (const cluster of listClusters())
    for (const city of cluster.cities)
      if (contains(city.region, code)) return { id: city.id, cluster: cluster.id, name: city.name, code: city.region };
  return null;
}

function districtOf(code: string, city: JsonValue): JsonValue {
  if (city === null || typeof city !== 'object' || Array.isArray(city)) return null;
  const district = districtsOf(String((city as JsonObject).id)).find((d) => contains(d.code, code));
  return district === undefined ? null : { code: district.code, name: district.name };
}

/**
 * Address/region lookup: the level, ancestors, city and district of a GB/T 2260 code,
 * and whether it lies within the serving city. Street and community codes are the
 * project's synthetic extension, so they carry no names.
 */
export const regionLookup: BuiltinHandler = {
  name: 'region-lookup',
  description: 'level, ancestors, city and district of a region code',
  needsDataset: false,
  inputSchema,
  async handle(input, context) {
    const code = parseRegionCode((input as { regionCode: string }).regionCode, 'regionCode');
    const city = cityOf(code);
    return {
      regionCode: code,
      level: levelOf(code),
      ancestors: [...ancestorsOf(code)],
      city,
      district: districtOf(code, city),
      inServingCity: contains(context.cityRegion, code),
    };
  },
};
