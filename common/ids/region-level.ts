/**
 * Administrative levels, broadest first. `city` is the prefecture level (地级); `district`
 * covers every county-level division (区, 县, 县级市, 旗); `street` every township-level
 * division (街道, 镇, 乡); `community` every village-level one (社区, 村).
 */
export const REGION_LEVELS = ['national', 'province', 'city', 'district', 'street', 'community'] as const;

/** One of {@link REGION_LEVELS}. */
export type RegionLevel = (typeof REGION_LEVELS)[number];

/** Rank of each level: 0 for national, growing as regions get smaller. */
export const REGION_LEVEL_RANK: Readonly<Record<RegionLevel, number>> = Object.freeze({
  national: 0,
  province: 1,
  city: 2,
  district: 3,
  street: 4,
  community: 5,
});

/**
 * Orders levels for sorting: negative when `a` is broader than `b`, zero when equal,
 * positive when `a` is narrower.
 */
export function compareRegionLevels(a: RegionLevel, b: RegionLevel): number {
  return REGION_LEVEL_RANK[a] - REGION_LEVEL_RANK[b];
}

/** True when level `a` is the same as `b` or broader (`province` is at or above `city`). */
export function isLevelAtOrAbove(a: RegionLevel, b: RegionLevel): boolean {
  return REGION_LEVEL_RANK[a] <= REGION_LEVEL_RANK[b];
}
