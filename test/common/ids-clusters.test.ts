import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MeshError } from '../../common/errors/mesh-error.js';
import {
  contains,
  districtsOf,
  getCity,
  getCluster,
  levelOf,
  listClusters,
  loadClusterCatalog,
  parseRegionCode,
  syntheticCommunities,
  syntheticStreets,
} from '../../common/ids/index.js';

function meshErrorOf(fn: () => unknown): MeshError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    return err as MeshError;
  }
  throw new Error('expected a MeshError, nothing was thrown');
}

const bundledText = readFileSync(new URL('../../common/data/clusters.json', import.meta.url), 'utf8');
const document = () =>
  JSON.parse(bundledText) as Record<string, unknown> & { jjj: { cities: { id: string; region: string }[] } };

describe('bundled cluster catalog', () => {
  it('lists the three national clusters', () => {
    expect(listClusters().map((cluster) => cluster.id)).toEqual(['jjj', 'prd', 'yrd']);
  });

  it('gives a cluster its name and cities with region codes', () => {
    const jjj = getCluster('jjj');
    expect(jjj.name).toContain('京津冀');
    expect(jjj.cities).toHaveLength(13);
    expect(jjj.cities[0]).toEqual({ id: 'beijing', cluster: 'jjj', name: '北京', region: '110000' });
    expect(getCluster('prd').cities.map((city) => city.id)).toContain('hongkong');
    expect(getCluster('yrd').cities).toHaveLength(27);
    expect(Object.isFrozen(jjj.cities)).toBe(true);
  });

  it('finds a city in any cluster', () => {
    expect(getCity('shenzhen')).toMatchObject({ cluster: 'prd', region: '440300' });
  });

  it("lists Beijing's real districts, each within Beijing", () => {
    const districts = districtsOf('beijing');
    expect(districts).toHaveLength(16);
    expect(districts).toContainEqual({ code: '110105', name: '朝阳区', city: 'beijing' });
    for (const district of districts) {
      expect(levelOf(district.code)).toBe('district');
      expect(contains('110000', district.code)).toBe(true);
    }
    expect(districtsOf('tianjin').every((district) => contains('120000', district.code))).toBe(true);
  });

  it('gives no districts for a city whose districts are not bundled', () => {
    expect(districtsOf('shijiazhuang')).toEqual([]);
  });

  it('refuses malformed and unknown names with distinct codes', () => {
    expect(meshErrorOf(() => getCluster('J J')).details).toMatchObject({ field: 'cluster', rule: 'pattern' });
    const unknown = meshErrorOf(() => getCluster('cyc'));
    expect(unknown.code).toBe('MEMBER_NOT_FOUND');
    expect(unknown.details).toMatchObject({ field: 'cluster', value: 'cyc' });
    expect(meshErrorOf(() => districtsOf('atlantis')).code).toBe('MEMBER_NOT_FOUND');
  });
});

describe('loadClusterCatalog validation', () => {
  const cases: [name: string, mutate: (doc: ReturnType<typeof document>) => void, path: string, rule: string][] = [
    [
      'a bad region code',
      (doc) => {
        doc.jjj.cities[2]!.region = '13010';
      },
      'jjj.cities[2].region',
      'length',
    ],
    [
      'a district as a city region',
      (doc) => {
        doc.jjj.cities[2]!.region = '130102';
      },
      'jjj.cities[2].region',
      'city-region',
    ],
    [
      'a bad city id',
      (doc) => {
        doc.jjj.cities[0]!.id = 'Beijing';
      },
      'jjj.cities[0].id',
      'pattern',
    ],
    [
      'a city listed twice',
      (doc) => {
        doc.jjj.cities[1]!.id = 'beijing';
      },
      'jjj.cities[1].id',
      'unique-city',
    ],
    [
      'an unknown key in a city',
      (doc) => {
        Object.assign(doc.jjj.cities[0]!, { regoin: 'x' });
      },
      'jjj.cities[0].regoin',
      'unknown-key',
    ],
    [
      'a bad cluster key',
      (doc) => {
        doc['J-J'] = { name: 'x', cities: [{ id: 'abc', name: 'x', region: '130100' }] };
      },
      '["J-J"]',
      'cluster-name',
    ],
    [
      'a district outside its city',
      (doc) => {
        (doc.districts as Record<string, [string, string][]>).beijing!.push(['120101', '和平区']);
      },
      'districts.beijing[16][0]',
      'district-of-city',
    ],
    [
      'districts of an unknown city',
      (doc) => {
        (doc.districts as Record<string, unknown>).atlantis = [];
      },
      'districts.atlantis',
      'known-city',
    ],
  ];
  for (const [name, mutate, path, rule] of cases) {
    it(`refuses ${name}`, () => {
      const doc = document();
      mutate(doc);
      const err = meshErrorOf(() => loadClusterCatalog(doc));
      expect(err.code).toBe('INVALID_CONFIG');
      expect(err.details).toMatchObject({ path, rule });
    });
  }
});

describe('synthetic streets and communities', () => {
  it('generates labelled 9-digit street codes below a district', () => {
    const streets = syntheticStreets('110105', 3);
    expect(streets.map((street) => street.code)).toEqual(['110105001', '110105002', '110105003']);
    expect(streets[0]).toEqual({
      code: '110105001',
      level: 'street',
      parent: '110105',
      name: 'synthetic street 001 of 110105',
      synthetic: true,
    });
    for (const street of streets) {
      expect(levelOf(street.code)).toBe('street');
      expect(contains('110105', street.code)).toBe(true);
      expect(contains('110108', street.code)).toBe(false);
    }
  });

  it('generates streets below a city without districts', () => {
    expect(syntheticStreets('441900', 1)[0]?.code).toBe('441900001');
  });

  it('generates 12-digit community codes below a street, deterministically', () => {
    const communities = syntheticCommunities('120101002', 999);
    expect(communities).toHaveLength(999);
    expect(communities.at(-1)?.code).toBe('120101002999');
    expect(
      communities.every((community) => parseRegionCode(community.code) === community.code && community.synthetic),
    ).toBe(true);
    expect(syntheticCommunities('120101002', 2)).toEqual(communities.slice(0, 2));
  });

  it('refuses a parent at the wrong level', () => {
    expect(meshErrorOf(() => syntheticStreets('110000', 1)).details).toMatchObject({
      field: 'district',
      rule: 'street-parent',
    });
    expect(meshErrorOf(() => syntheticStreets('130100', 1)).details).toMatchObject({
      field: 'district',
      rule: 'street-parent',
    });
    expect(meshErrorOf(() => syntheticCommunities('110105', 1)).details).toMatchObject({
      field: 'street',
      rule: 'community-parent',
    });
    expect(meshErrorOf(() => syntheticStreets('11010x', 1)).details).toMatchObject({
      field: 'district',
      rule: 'digits',
    });
  });

  it('refuses a count outside 0–999', () => {
    expect(() => syntheticStreets('110105', 1000)).toThrow(RangeError);
    expect(() => syntheticStreets('110105', 1.5)).toThrow(RangeError);
    expect(syntheticStreets('110105', 0)).toEqual([]);
  });
});
