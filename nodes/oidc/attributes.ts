import { MeshError } from '../../common/errors/mesh-error.js';
import { levelOf, parseRegionCode } from '../../common/ids/index.js';
import { REGION_LEVELS, type RegionLevel } from '../../common/ids/region-level.js';
import type { SubjectAttributes } from './oidc-store.js';

/** Attributes as an operator types them; `level` defaults to the region code's level. */
export interface AttributesInput {
  readonly org: string;
  readonly industry: string;
  readonly region: string;
  readonly level?: string;
  readonly roles?: readonly string[];
}

const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function label(value: string, field: string): string {
  if (!LABEL.test(value)) {
    throw new MeshError('MALFORMED_REQUEST', `${field} "${value}" must be 1-100 of A-Z, a-z, 0-9, ".", "_", "-"`, {
      details: { field },
    });
  }
  return value;
}

/**
 * Checks attributes before they are stored: they end up in every access token the
 * subject gets, and policy trusts them, so nothing free-form gets in.
 */
export function parseAttributes(input: AttributesInput): SubjectAttributes {
  const region = parseRegionCode(input.region, 'region');
  const level = (input.level ?? levelOf(region)) as RegionLevel;
  if (!REGION_LEVELS.includes(level)) {
    throw new MeshError('MALFORMED_REQUEST', `level must be one of ${REGION_LEVELS.join(', ')}`, {
      details: { field: 'level' },
    });
  }
  const roles = [...new Set((input.roles ?? []).map((r, i) => label(r, `roles[${i}]`)))].sort();
  if (roles.length > 32) {
    throw new MeshError('MALFORMED_REQUEST', 'at most 32 roles', { details: { field: 'roles' } });
  }
  return { org: label(input.org, 'org'), industry: label(input.industry, 'industry'), level, region, roles };
}
