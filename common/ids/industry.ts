import { didYouMean } from '../config/did-you-mean.js';
import { identifierError, quoteValue, requirePattern, requireString } from './identifier-error.js';

declare const industryBrand: unique symbol;

/** An industry id of the registry, such as `health` or `elderly-care`. */
export type IndustryId = string & { readonly [industryBrand]: true };

/** The grammar of industry ids (docs/specs/protocol.md, `industry-id`). */
export const INDUSTRY_ID_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/** One industry of the registry. */
export interface IndustryInfo {
  readonly id: IndustryId;
  readonly name: string;
  readonly description: string;
}

const entry = (id: string, name: string, description: string): IndustryInfo =>
  Object.freeze({ id: id as IndustryId, name, description });

/**
 * The fixed industry registry. Policies, catalog entries and device types name these
 * ids, so an id is only ever added, never renamed or removed.
 */
export const INDUSTRIES: readonly IndustryInfo[] = Object.freeze([
  entry(
    'government-services',
    'Government services',
    'Permits, licences, service halls and online government services',
  ),
  entry('tourism', 'Tourism', 'Scenic spots, hotels, visitor flows and culture venues'),
  entry('logistics', 'Logistics', 'Freight, warehousing, ports and parcel delivery'),
  entry('public-safety', 'Public safety', 'Fire, emergency response, policing and disaster prevention'),
  entry('public-management', 'Public management', 'Urban management, planning, land and housing administration'),
  entry('public-services', 'Public services', 'Civil affairs, addresses, utilities and community services'),
  entry('environment', 'Environment', 'Air and water quality, noise, waste and ecology monitoring'),
  entry('health', 'Health', 'Hospitals, public health, disease control and medical resources'),
  entry('elderly-care', 'Elderly care', 'Care homes, home care and services for older residents'),
  entry('transport', 'Transport', 'Public transit, roads, traffic management and parking'),
  entry('energy', 'Energy', 'Electricity, gas, heating and charging infrastructure'),
  entry('education', 'Education', 'Schools, enrolment and education resources'),
]);

const BY_ID: ReadonlyMap<string, IndustryInfo> = new Map(INDUSTRIES.map((industry) => [industry.id, industry]));

/**
 * Parses an industry id: the grammar, then membership of the registry, suggesting the
 * nearest registered id for a typo (`heath` → `health`).
 *
 * @throws MeshError `INVALID_IDENTIFIER` (rules `type`, `pattern`, `known-industry`)
 */
export function parseIndustry(input: unknown, field = 'industry'): IndustryId {
  const value = requirePattern(requireString(input, field), INDUSTRY_ID_PATTERN, field);
  if (BY_ID.has(value)) return value as IndustryId;
  const suggestion = didYouMean(
    value,
    INDUSTRIES.map((industry) => industry.id),
  );
  const hint =
    suggestion === undefined
      ? `; one of ${INDUSTRIES.map((i) => i.id).join(', ')}`
      : ` (did you mean "${suggestion}"?)`;
  throw identifierError(
    field,
    'known-industry',
    value,
    `${field} ${quoteValue(value)} is not a registered industry${hint}`,
  );
}

/** True when `input` is a registered industry id. */
export function isIndustry(input: unknown): input is IndustryId {
  return typeof input === 'string' && BY_ID.has(input);
}

/** The registry entry of an industry. @throws as {@link parseIndustry} */
export function getIndustry(id: string): IndustryInfo {
  return BY_ID.get(parseIndustry(id)) as IndustryInfo;
}
