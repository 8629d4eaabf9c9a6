import { malformed } from './validate.js';

const VERSION = /^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$/;

/**
 * Sort key of a `MAJOR.MINOR.PATCH` version: each part zero-padded to 9 digits, so plain
 * string order (SQL `ORDER BY`, keyset comparisons) is semver order. Pre-release and build
 * parts are refused rather than half-supported.
 */
export function versionKey(version: string, field = 'version'): string {
  const match = VERSION.exec(version);
  if (match === null) malformed(field, 'must be MAJOR.MINOR.PATCH without leading zeros');
  return match
    .slice(1, 4)
    .map((part) => part.padStart(9, '0'))
    .join('.');
}
