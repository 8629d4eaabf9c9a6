import { describe, expect, it } from 'vitest';
import { MeshError } from '../../common/errors/mesh-error.js';
import {
  actsAsCity,
  ancestorsOf,
  compareRegionLevels,
  contains,
  isLevelAtOrAbove,
  isMunicipality,
  isRegionCode,
  isSameOrBelow,
  isSpecialAdministrativeRegion,
  levelOf,
  NATIONAL_REGION,
  parentOf,
  parseRegionCode,
  REGION_LEVELS,
  type RegionLevel,
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

describe('region levels', () => {
  const cases: [code: string, level: RegionLevel][] = [
    ['000000', 'national'],
    ['110000', 'province'],
    ['130000', 'province'],
    ['810000', 'province'],
    ['130100', 'city'],
    ['441900', 'city'],
    ['110105', 'district'],
    ['130102', 'district'],
    ['429004', 'district'],
    ['810001', 'district'],
    ['110105001', 'street'],
    ['441900003', 'street'],
    ['110105001001', 'community'],
  ];
  for (const [code, level] of cases) {
    it(`derives ${level} from ${code}`, () => expect(levelOf(code)).toBe(level));
  }

  it('ranks levels from national down to community', () => {
    expect(REGION_LEVELS).toEqual(['national', 'province', 'city', 'district', 'street', 'community']);
    expect(compareRegionLevels('province', 'district')).toBeLessThan(0);
    expect(compareRegionLevels('street', 'street')).toBe(0);
    expect(isLevelAtOrAbove('city', 'district')).toBe(true);
    expect(isLevelAtOrAbove('community', 'street')).toBe(false);
  });
});

describe('municipalities and SARs', () => {
  it('treats Beijing as a province that also acts as a city', () => {
    expect(levelOf('110000')).toBe('province');
    expect(isMunicipality('110000')).toBe(true);
    expect(actsAsCity('110000')).toBe(true);
  });
  it('knows the four municipalities and the two SARs', () => {
    expect(['110000', '120000', '310000', '500000'].every(isMunicipality)).toBe(true);
    expect(isMunicipality('130000')).toBe(false);
    expect(isMunicipality('810000')).toBe(false);
    expect(isSpecialAdministrativeRegion('810000')).toBe(true);
    expect(isSpecialAdministrativeRegion('820000')).toBe(true);
    expect(actsAsCity('820000')).toBe(true);
  });
  it('treats prefecture cities as cities and provinces or districts as not', () => {
    expect(actsAsCity('130100')).toBe(true);
    expect(actsAsCity('130000')).toBe(false);
    expect(actsAsCity('110105')).toBe(false);
  });
});

describe('parents and ancestors', () => {
  const parents: [code: string, parent: string | undefined][] = [
    ['000000', undefined],
    ['110000', '000000'],
    ['130100', '130000'],
    ['130102', '130100'],
    // Municipality districts skip the 1101 grouping prefix.
    ['110105', '110000'],
    ['500229', '500000'],
    // Province-administered county-level cities skip XX90.
    ['429004', '420000'],
    ['810001', '810000'],
    ['110105001', '110105'],
    ['441900003', '441900'],
    ['110105001002', '110105001'],
  ];
  for (const [code, parent] of parents) {
    it(`gives ${code} the parent ${parent ?? 'none'}`, () => expect(parentOf(code)).toBe(parent));
  }

  it('lists ancestors nearest first, national last', () => {
    expect(ancestorsOf('110105001002')).toEqual(['110105001', '110105', '110000', '000000']);
    expect(ancestorsOf('130102')).toEqual(['130100', '130000', '000000']);
    expect(ancestorsOf(NATIONAL_REGION)).toEqual([]);
    expect(Object.isFrozen(ancestorsOf('130102'))).toBe(true);
  });
});

describe('containment', () => {
  const cases: [a: string, b: string, expected: boolean][] = [
    ['110000', '110105', true], // Chaoyang is within Beijing
    ['120000', '110105', false], // ... not within Tianjin
    ['110105', '110105', true], // a region contains itself
    ['110105', '110105001', true], // a street under its district
    ['110000', '110105001002', true],
    ['000000', '110105001002', true], // national contains all
    ['000000', '000000', true],
    ['110105', '110108', false], // sideways districts
    ['110105001', '110105002', false], // sideways streets
    ['110105', '110000', false], // a child never contains its parent
    ['110105', '000000', false],
    ['130100', '130102', true],
    ['130100', '130200', false],
    ['130000', '139001', true],
    ['441900', '441900003', true], // Dongguan's towns sit right below the city
    ['440000', '441900003', true],
  ];
  for (const [a, b, expected] of cases) {
    it(`${expected ? 'finds' : 'does not find'} ${b} within ${a}`, () => {
      expect(contains(a, b)).toBe(expected);
      expect(isSameOrBelow(b, a)).toBe(expected);
    });
  }

  it('refuses to compare an invalid code, naming which argument', () => {
    const err = meshErrorOf(() => contains('110000', '11010'));
    expect(err.code).toBe('INVALID_REGION_CODE');
    expect(err.details).toMatchObject({ field: 'b', rule: 'length' });
  });
});

describe('parseRegionCode', () => {
  it('accepts real and synthetic-shaped codes at every level', () => {
    for (const code of ['000000', '110000', '820000', '710000', '130100', '110105', '110105001', '110105001001']) {
      expect(parseRegionCode(code)).toBe(code);
    }
    expect(isRegionCode('650000')).toBe(true);
    expect(isRegionCode('660000')).toBe(false);
  });

  const cases: [input: unknown, rule: string][] = [
    [110105, 'type'],
    ['', 'digits'],
    ['11010a', 'digits'],
    [' 110105', 'digits'],
    ['１１０１０５', 'digits'], // full-width digits
    ['11010', 'length'],
    ['1101050', 'length'],
    ['1101050010', 'length'],
    ['1101050010011', 'length'],
    ['100000', 'province'],
    ['160000', 'province'],
    ['240000', 'province'],
    ['380000', 'province'],
    ['470000', 'province'],
    ['550000', 'province'],
    ['660000', 'province'],
    ['720000', 'province'],
    ['830000', 'province'],
    ['990000', 'province'],
    ['110100', 'grouping-code'], // Beijing 市辖区: its districts belong to 110000
    ['500200', 'grouping-code'],
    ['429000', 'grouping-code'],
    ['110100001', 'grouping-code'],
    ['110000001', 'street-parent'], // a street directly under a province
    ['130100001', 'street-parent'], // ... or under a city that has districts
    ['000000001', 'province'], // no street directly under national
    ['110105000', 'street-suffix'],
    ['130100001001', 'community-parent'],
    ['110105000001', 'community-parent'],
    ['110105001000', 'community-suffix'],
  ];
  for (const [input, rule] of cases) {
    it(`rejects ${JSON.stringify(input)} (${rule})`, () => {
      const err = meshErrorOf(() => parseRegionCode(input));
      expect(err.code).toBe('INVALID_REGION_CODE');
      expect(err.details).toMatchObject({ field: 'region', rule });
    });
  }

  it('explains a grouping code and names the caller field', () => {
    const err = meshErrorOf(() => parseRegionCode('110100', 'device.region'));
    expect(err.details.field).toBe('device.region');
    expect(err.message).toContain('110000');
  });

  it('makes every region function refuse an invalid code', () => {
    for (const fn of [levelOf, parentOf, ancestorsOf, isMunicipality, actsAsCity]) {
      expect(meshErrorOf(() => fn('999999')).code).toBe('INVALID_REGION_CODE');
    }
  });
});
