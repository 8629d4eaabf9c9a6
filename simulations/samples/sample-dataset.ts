import type { Classification } from '../../common/stores/catalog-store.js';
import type { JsonObject } from '../../common/stores/json.js';
import type { SampleContext } from './sample-context.js';

/** Records per sample dataset: a few dozen, enough for paging and summaries. */
export const SAMPLE_RECORDS = 36;

/** One sample dataset: its catalog fields, record schema and a record generator. */
export interface SampleDataset {
  readonly ownerOrg: string;
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly industry: string;
  readonly classification: Classification;
  readonly requiresAgreement: boolean;
  readonly license: string;
  readonly schema: JsonObject;
  /** Every record has a unique string `id`, the record id of idempotent imports. */
  records(context: SampleContext): JsonObject[];
}

const ID = { type: 'string', pattern: '^[a-z]+-[0-9]{4}$' };
const REGION = { type: 'string', pattern: '^[0-9]{6}([0-9]{3}){0,2}$' };

/** A strict object schema: every listed property typed, nothing else allowed. */
export function recordSchema(
  title: string,
  properties: Record<string, JsonObject>,
  optional: readonly string[] = [],
): JsonObject {
  const all = { id: ID, regionCode: REGION, ...properties };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title,
    type: 'object',
    properties: all,
    required: Object.keys(all).filter((key) => !optional.includes(key)),
    additionalProperties: false,
  };
}

export const int = (minimum: number, maximum?: number): JsonObject =>
  maximum === undefined ? { type: 'integer', minimum } : { type: 'integer', minimum, maximum };
export const num = (minimum: number, maximum?: number): JsonObject =>
  maximum === undefined ? { type: 'number', minimum } : { type: 'number', minimum, maximum };
export const str = (minLength = 1): JsonObject => ({ type: 'string', minLength });
export const bool: JsonObject = { type: 'boolean' };
export const oneOf = (...values: string[]): JsonObject => ({ type: 'string', enum: values });
export const dateTime: JsonObject = { type: 'string', format: 'date-time' };
export const date: JsonObject = { type: 'string', format: 'date' };
