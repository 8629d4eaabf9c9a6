import { MeshError } from '../errors/mesh-error.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../stores/paging.js';

/**
 * proto3 cannot mark a field required, so handlers check the fields the protocol documents
 * as `Required.` with these, and the error names the message, the field and the rule.
 */
function missing(typeName: string, field: string, rule: string): MeshError {
  return new MeshError('MALFORMED_REQUEST', `${typeName}.${field}: ${rule}`, {
    details: { message: typeName, field, rule },
  });
}

/** A required string field: present and non-empty after trimming, within `maxLength`. */
export function requireString(typeName: string, field: string, value: string, maxLength = 4096): string {
  if (value.trim() === '') throw missing(typeName, field, 'is required and must not be empty');
  if (value.length > maxLength) throw missing(typeName, field, `must be at most ${maxLength} characters`);
  return value;
}

/** A required enum field: anything but the `_UNSPECIFIED` zero value or an unknown number. */
export function requireEnum<E extends number>(typeName: string, field: string, value: E, known: readonly E[]): E {
  if (value === 0) throw missing(typeName, field, 'is required (UNSPECIFIED is not a value)');
  if (!known.includes(value)) throw missing(typeName, field, `has unknown value ${value}`);
  return value;
}

/** A required message field (ts-proto decodes an absent sub-message to `undefined`). */
export function requireMessage<M>(typeName: string, field: string, value: M | undefined): M {
  if (value === undefined || value === null) throw missing(typeName, field, 'is required');
  return value;
}

/** A required non-empty repeated field, at most `maxItems` long. */
export function requireList<T>(typeName: string, field: string, value: readonly T[], maxItems = 1000): readonly T[] {
  if (value.length === 0) throw missing(typeName, field, 'needs at least one item');
  if (value.length > maxItems) throw missing(typeName, field, `allows at most ${maxItems} items`);
  return value;
}

/**
 * `page_size`: 0 means the default, above `max` is capped (protocol.md: capped, never
 * refused); a negative or fractional size is an error naming the field.
 */
export function pageSize(typeName: string, value: number, max = MAX_PAGE_SIZE, fallback = DEFAULT_PAGE_SIZE): number {
  if (!Number.isInteger(value) || value < 0) throw missing(typeName, 'page_size', 'must be a non-negative integer');
  return value === 0 ? fallback : Math.min(value, max);
}
