import { type CityName, parseCityName } from './city.js';
import { type ClusterName, parseClusterName } from './cluster.js';
import { identifierError, quoteValue, requirePattern, requireString } from './identifier-error.js';
import { ParseMemo } from './parse-memo.js';

/** Organisation and dataset/capability names: lowercase, dots and dashes allowed. */
export const RESOURCE_SEGMENT_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * `MAJOR.MINOR.PATCH` only: pre-release and build metadata are not accepted, and
 * numeric parts carry no leading zero (SemVer 2.0.0 §2), so each version has one spelling.
 */
export const VERSION_PATTERN = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/;

/** A dataset or capability id, `<cluster>/<city>/<org>/<name>[@version]`. */
export interface ResourceId {
  readonly cluster: ClusterName;
  readonly city: CityName;
  readonly org: string;
  readonly name: string;
  /** `MAJOR.MINOR.PATCH`, or undefined for an unversioned reference. */
  readonly version: string | undefined;
  /** The canonical string form. */
  readonly id: string;
}

/** A dataset id; same syntax as every resource id. */
export type DatasetId = ResourceId;

/** A capability id; same syntax as every resource id. */
export type CapabilityId = ResourceId;

/** The parts {@link formatResourceId} needs. */
export interface ResourceIdParts {
  readonly cluster: string;
  readonly city: string;
  readonly org: string;
  readonly name: string;
  readonly version?: string | undefined;
}

/**
 * Parses a version string.
 *
 * @throws MeshError `INVALID_IDENTIFIER` (rules `type`, `pattern`, `version-range`)
 */
export function parseVersion(input: unknown, field = 'version'): string {
  const value = requirePattern(requireString(input, field), VERSION_PATTERN, field);
  // Versions are compared numerically; parts beyond 2^53 would compare wrongly.
  if (value.split('.').some((part) => !Number.isSafeInteger(Number(part)))) {
    throw identifierError(
      field,
      'version-range',
      value,
      `${field} ${quoteValue(value)} has a part above ${Number.MAX_SAFE_INTEGER}`,
    );
  }
  return value;
}

/** Ids that parsed, by text: the same few are parsed several times per exchange. */
const PARSED = new ParseMemo<ResourceId>();

function build(parts: ResourceIdParts, field: string): ResourceId {
  const cluster = parseClusterName(parts.cluster, `${field}.cluster`);
  const city = parseCityName(parts.city, `${field}.city`);
  const org = requirePattern(requireString(parts.org, `${field}.org`), RESOURCE_SEGMENT_PATTERN, `${field}.org`);
  const name = requirePattern(requireString(parts.name, `${field}.name`), RESOURCE_SEGMENT_PATTERN, `${field}.name`);
  const version = parts.version === undefined ? undefined : parseVersion(parts.version, `${field}.version`);
  const id = `${cluster}/${city}/${org}/${name}${version === undefined ? '' : `@${version}`}`;
  return Object.freeze({ cluster, city, org, name, version, id });
}

/**
 * Parses `<cluster>/<city>/<org>/<name>[@version]`.
 *
 * @throws MeshError `INVALID_IDENTIFIER`: rule `type` or `shape` on `field`, or a part's
 *   rule with `details.field` = `<field>.cluster|city|org|name|version`
 */
export function parseResourceId(input: unknown, field = 'resourceId'): ResourceId {
  const known = PARSED.get(input);
  if (known !== undefined) return known;
  const value = requireString(input, field);
  const at = value.indexOf('@');
  const path = at === -1 ? value : value.slice(0, at);
  const version = at === -1 ? undefined : value.slice(at + 1);
  const segments = path.split('/');
  if (segments.length !== 4) {
    throw identifierError(
      field,
      'shape',
      value,
      `${field} ${quoteValue(value)} must be <cluster>/<city>/<org>/<name>[@version]`,
    );
  }
  const [cluster, city, org, name] = segments as [string, string, string, string];
  return PARSED.remember(value, build({ cluster, city, org, name, version }, field));
}

/** Formats a resource id from its parts, checking each. */
export function formatResourceId(parts: ResourceIdParts, field = 'resourceId'): string {
  return build(parts, field).id;
}

/** The same resource without its version: what a version-independent grant names. */
export function withoutVersion(id: ResourceId): ResourceId {
  if (id.version === undefined) return id;
  return build({ cluster: id.cluster, city: id.city, org: id.org, name: id.name }, 'resourceId');
}
