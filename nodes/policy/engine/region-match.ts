import { isRegionCode } from '../../../common/ids/index.js';
import type { Relation } from './columns.js';

/** Validity of codes seen lately: parsing costs more than the rest of a containment test. */
const validity = new Map<string, boolean>();
const VALIDITY_CAP = 100_000;

function valid(code: string): boolean {
  let known = validity.get(code);
  if (known === undefined) {
    if (validity.size >= VALIDITY_CAP) validity.clear();
    known = isRegionCode(code);
    validity.set(code, known);
  }
  return known;
}

/**
 * The digits every region inside `code` starts with: `''` for national, `XX` for a
 * province, `XXYY` for a city, the whole code below that. GB/T 2260 codes nest by
 * prefix once grouping codes (`110100`, which parse refuses) are out of the way, so
 * containment is one `startsWith` instead of walking `ancestorsOf` on every decision.
 * Undefined for an invalid code, which then contains nothing and is in nothing.
 */
function scopePrefix(code: string): string | undefined {
  if (!valid(code)) return undefined;
  if (code.length !== 6) return code;
  if (code === '000000') return '';
  if (code.endsWith('0000')) return code.slice(0, 2);
  if (code.endsWith('00')) return code.slice(0, 4);
  return code;
}

/**
 * True when region `outer` is `inner` or contains it: the same answer as
 * `common/ids` `contains` (a property test holds them together), but false rather
 * than an exception for invalid codes.
 */
export function regionContains(outer: string, inner: string): boolean {
  const prefix = scopePrefix(outer);
  if (prefix === undefined || !valid(inner)) return false;
  return inner.startsWith(prefix);
}

/**
 * How the subject's region stands to the object's:
 * `self` the same region; `within` the object is in the subject's region (a district
 * reads its streets); `above` strictly inside it (upward reporting: province and
 * national read what lies below them); `below` the subject is strictly inside the
 * object's region.
 */
export function relationHolds(relation: Relation, subjectRegion: string, objectRegion: string): boolean {
  switch (relation) {
    case 'self':
      return subjectRegion === objectRegion && valid(subjectRegion);
    case 'within':
      return regionContains(subjectRegion, objectRegion);
    case 'above':
      return subjectRegion !== objectRegion && regionContains(subjectRegion, objectRegion);
    case 'below':
      return subjectRegion !== objectRegion && regionContains(objectRegion, subjectRegion);
  }
}
