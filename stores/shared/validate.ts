import { MeshError } from '../../common/errors/mesh-error.js';

/*
 * Input checks every store implementation runs before writing, so all of them refuse
 * the same inputs with the same code. They guard store invariants only (types, shapes,
 * sizes); domain rules (identifier grammar, state machines) live in the domain.
 */

/** Throws `MALFORMED_REQUEST` naming the field. */
export function malformed(field: string, message: string): never {
  throw new MeshError('MALFORMED_REQUEST', `${field}: ${message}`, { details: { field } });
}

/** A non-empty string. */
export function requireText(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) malformed(field, 'must be a non-empty string');
  return value;
}

/** A string (possibly empty) or absent. */
export function optionalText(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') malformed(field, 'must be a string when present');
  return value;
}

/** A `Date` holding a real instant (not `Invalid Date`). */
export function requireDate(field: string, value: unknown): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) malformed(field, 'must be a valid Date');
  return value;
}

/** A valid `Date` or absent. */
export function optionalDate(field: string, value: unknown): Date | undefined {
  return value === undefined ? undefined : requireDate(field, value);
}

/** A sequence number: a safe integer ≥ `min`. */
export function requireInteger(field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    malformed(field, `must be an integer ≥ ${min}`);
  }
  return value;
}

/** One of a closed set of strings (an enum of the domain types). */
export function requireOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    malformed(field, `must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Lower-case hex SHA-256. */
export function requireHex64(field: string, value: unknown): string {
  if (typeof value !== 'string' || !HEX64.test(value)) malformed(field, 'must be 64 lower-case hex digits');
  return value;
}

/** A non-null, non-array object (JWKs, schemas, attributes). */
export function requirePlainObject(field: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) malformed(field, 'must be a JSON object');
  return value as Record<string, unknown>;
}

/** Text that must parse as JSON (payloads, records). */
export function requireJsonText(field: string, value: unknown): string {
  const text = requireText(field, value);
  try {
    JSON.parse(text);
  } catch {
    malformed(field, 'must be JSON text');
  }
  return text;
}

const REGION_PREFIX = /^[0-9]{1,12}$/;

/**
 * A GB/T 2260 region prefix. Restricting it to digits keeps prefix matching identical in
 * every implementation: the SQL range [prefix, prefix with its last digit + 1) selects
 * exactly the codes that start with it.
 */
export function requireRegionPrefix(field: string, value: string): { readonly low: string; readonly high: string } {
  if (!REGION_PREFIX.test(value)) malformed(field, 'must be 1 to 12 digits');
  const last = value.charCodeAt(value.length - 1);
  return { low: value, high: value.slice(0, -1) + String.fromCharCode(last + 1) };
}
