import { MeshError } from '../errors/mesh-error.js';
import type { ErrorCode } from '../errors/registry.js';

/** Longest excerpt of an offending value kept in messages and details. */
const MAX_VALUE_EXCERPT = 256;

/** Cuts a value short so a hostile multi-kilobyte input cannot bloat messages and logs. */
const excerpt = (value: string) => (value.length > MAX_VALUE_EXCERPT ? `${value.slice(0, MAX_VALUE_EXCERPT)}…` : value);

/**
 * Renders an offending input for a message: JSON-quoted so control characters and
 * spaces stay visible (`"Bei Jing"`), and cut short.
 */
export function quoteValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(excerpt(value)) : typeof value;
}

/**
 * Builds the MeshError every identifier parser throws: `details.field` names the field,
 * `details.rule` the rule it broke, `details.value` an excerpt of the offending input
 * (identifiers are public, never secrets).
 */
export function identifierError(
  field: string,
  rule: string,
  value: unknown,
  message: string,
  code: ErrorCode = 'INVALID_IDENTIFIER',
): MeshError {
  const details: Record<string, string> = { field, rule };
  if (typeof value === 'string') details.value = excerpt(value);
  return new MeshError(code, message, { details });
}

/** Throws unless `input` is a string; the common first check of every parser. */
export function requireString(input: unknown, field: string, code: ErrorCode = 'INVALID_IDENTIFIER'): string {
  if (typeof input !== 'string') {
    throw identifierError(
      field,
      'type',
      input,
      `${field} must be a string, got ${input === null ? 'null' : typeof input}`,
      code,
    );
  }
  return input;
}

/** Throws unless `input` matches `pattern`, with the pattern quoted in the message. */
export function requirePattern(
  input: string,
  pattern: RegExp,
  field: string,
  code: ErrorCode = 'INVALID_IDENTIFIER',
): string {
  if (!pattern.test(input)) {
    throw identifierError(field, 'pattern', input, `${field} ${quoteValue(input)} must match ${pattern.source}`, code);
  }
  return input;
}
