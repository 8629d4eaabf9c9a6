import { z } from 'zod';
import { loadConfig } from '../config/load-config.js';
import bundled from '../data/clusters.json' with { type: 'json' };
import { MeshError } from '../errors/mesh-error.js';
import { type CityName, parseCityName } from './city.js';
import { type ClusterName, isClusterName, parseClusterName } from './cluster.js';
import { quoteValue } from './identifier-error.js';
import { actsAsCity, contains, levelOf, parseRegionCode, type RegionCode } from './region.js';
import { zodIdentifier } from './zod-identifier.js';

/** A member city of a cluster, with its GB/T 2260 code (the province code for municipalities and SARs). */
export interface CityInfo {
  readonly id: CityName;
  readonly cluster: ClusterName;
  /** The city's Chinese name (`北京`). */
  readonly name: string;
  readonly region: RegionCode;
}

/** A national city cluster (`jjj`: 京津冀) and its cities, in file order. */
export interface ClusterInfo {
  readonly id: ClusterName;
  readonly name: string;
  readonly cities: readonly CityInfo[];
}

/** A real district of a city, from the bundled data. */
export interface DistrictInfo {
  readonly code: RegionCode;
  readonly name: string;
  readonly city: CityName;
}

/** Clusters, cities and districts, validated and indexed. */
export interface ClusterCatalog {
  readonly clusters: readonly ClusterInfo[];
  /** @throws MeshError `INVALID_IDENTIFIER` for a malformed name, `MEMBER_NOT_FOUND` for an unknown one */
  getCluster(id: string): ClusterInfo;
  /** @throws MeshError `INVALID_IDENTIFIER` for a malformed name, `MEMBER_NOT_FOUND` for an unknown one */
  getCity(id: string): CityInfo;
  /**
   * The districts bundled for a city (Beijing's and Tianjin's today); empty for a city
   * whose districts are not bundled. @throws as {@link ClusterCatalog.getCity}
   */
  districtsOf(city: string): readonly DistrictInfo[];
}

const districtListSchema = z.array(
  z.tuple([zodIdentifier((input) => parseRegionCode(input, 'district')), z.string().min(1)]),
);

const clusterEntrySchema = z
  .object({
    name: z.string().min(1),
    cities: z
      .array(
        z
          .object({
            id: zodIdentifier((input) => parseCityName(input)),
            name: z.string().min(1),
            region: zodIdentifier((input) => parseRegionCode(input)),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

type ClusterEntry = z.output<typeof clusterEntrySchema>;
type DistrictList = z.output<typeof districtListSchema>;

/**
 * The file's two reserved keys, `_about` and `districts` (`{ _about, <city>: [[code, name], ...] }`),
 * are split from the clusters, which are all the other keys.
 */
function split(file: { readonly _about: string; readonly districts?: object | undefined }): {
  clusters: [string, ClusterEntry][];
  districts: [string, DistrictList][];
} {
  const { _about, districts = {}, ...clusters } = file;
  const { _about: _districtsAbout, ...byCity } = districts as Record<string, unknown>;
  return {
    clusters: Object.entries(clusters) as [string, ClusterEntry][],
    districts: Object.entries(byCity) as [string, DistrictList][],
  };
}

const catalogFileSchema = z
  .object({ _about: z.string(), districts: z.object({ _about: z.string() }).catchall(districtListSchema).optional() })
  .catchall(clusterEntrySchema)
  .superRefine((file, ctx) => {
    const issue = (path: PropertyKey[], rule: string, message: string) =>
      ctx.addIssue({ code: 'custom', path, message, params: { rule } });
    const { clusters, districts } = split(file);
    const regionOfCity = new Map<string, RegionCode>();
    for (const [key, cluster] of clusters) {
      if (!isClusterName(key)) issue([key], 'cluster-name', `${quoteValue(key)} is not a valid cluster name`);
      cluster.cities.forEach((city, i) => {
        // District lists are keyed by city id alone, so a city id names one city everywhere.
        if (regionOfCity.has(city.id))
          issue([key, 'cities', i, 'id'], 'unique-city', `city ${city.id} is listed twice`);
        regionOfCity.set(city.id, city.region);
        if (!actsAsCity(city.region)) {
          issue([key, 'cities', i, 'region'], 'city-region', `${city.region} is a ${levelOf(city.region)}, not a city`);
        }
      });
    }
    for (const [city, list] of districts) {
      const region = regionOfCity.get(city);
      if (region === undefined) {
        issue(['districts', city], 'known-city', `districts are listed for ${city}, which no cluster has`);
        continue;
      }
      list.forEach(([code], i) => {
        if (levelOf(code) !== 'district' || !contains(region, code)) {
          issue(['districts', city, i, 0], 'district-of-city', `${code} is not a district of ${city} (${region})`);
        }
      });
    }
  });

function notFound(field: string, value: string, what: string): MeshError {
  return new MeshError('MEMBER_NOT_FOUND', `${field} ${quoteValue(value)}: no such ${what}`, {
    details: { field, rule: 'exists', value },
  });
}

/**
 * Validates a clusters document (the shape of `common/data/clusters.json`) and indexes it.
 *
 * @throws MeshError `INVALID_CONFIG` listing every issue
 */
export function loadClusterCatalog(document: object): ClusterCatalog {
  const file = loadConfig(catalogFileSchema, document, { service: 'clusters catalog' });
  const entries = split(file);
  const clusters: ClusterInfo[] = [];
  const cities = new Map<string, CityInfo>();
  const districts = new Map<string, readonly DistrictInfo[]>();
  for (const [key, value] of entries.clusters) {
    const id = parseClusterName(key);
    const members = value.cities.map((city) =>
      Object.freeze({ id: city.id, cluster: id, name: city.name, region: city.region }),
    );
    for (const city of members) cities.set(city.id, city);
    clusters.push(Object.freeze({ id, name: value.name, cities: Object.freeze(members) }));
  }
  for (const [city, list] of entries.districts) {
    const cityId = parseCityName(city);
    districts.set(city, Object.freeze(list.map(([code, name]) => Object.freeze({ code, name, city: cityId }))));
  }
  const byId = new Map(clusters.map((cluster) => [cluster.id as string, cluster]));

  const getCity = (id: string): CityInfo => {
    const city = cities.get(parseCityName(id));
    if (city === undefined) throw notFound('city', id, 'city in any cluster');
    return city;
  };
  return Object.freeze({
    clusters: Object.freeze(clusters),
    getCluster(id: string): ClusterInfo {
      const cluster = byId.get(parseClusterName(id));
      if (cluster === undefined) throw notFound('cluster', id, 'cluster');
      return cluster;
    },
    getCity,
    districtsOf(city: string): readonly DistrictInfo[] {
      return districts.get(getCity(city).id) ?? Object.freeze([]);
    },
  });
}

let bundledCatalog: ClusterCatalog | undefined;

/** The catalog bundled with citymesh (`common/data/clusters.json`), validated on first use. */
export function bundledClusterCatalog(): ClusterCatalog {
  bundledCatalog ??= loadClusterCatalog(bundled);
  return bundledCatalog;
}

/** A bundled cluster by name: `getCluster('jjj')`. See {@link ClusterCatalog.getCluster}. */
export function getCluster(id: string): ClusterInfo {
  return bundledClusterCatalog().getCluster(id);
}

/** A bundled city by name: `getCity('beijing')`. See {@link ClusterCatalog.getCity}. */
export function getCity(id: string): CityInfo {
  return bundledClusterCatalog().getCity(id);
}

/** The bundled districts of a city: `districtsOf('beijing')`. See {@link ClusterCatalog.districtsOf}. */
export function districtsOf(city: string): readonly DistrictInfo[] {
  return bundledClusterCatalog().districtsOf(city);
}

/** Every bundled cluster, in file order. */
export function listClusters(): readonly ClusterInfo[] {
  return bundledClusterCatalog().clusters;
}
