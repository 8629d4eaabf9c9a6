import { type ErrorDetails, MeshError } from '../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../common/errors/registry.js';

/** Builds the MeshError every federation check throws: a code, a message, `details.rule`. */
export function fail(
  code: ErrorCode,
  rule: string,
  message: string,
  details: ErrorDetails = {},
  cause?: unknown,
): MeshError {
  return new MeshError(code, message, { details: { rule, ...details }, ...(cause === undefined ? {} : { cause }) });
}

/**
 * The same failure seen from further out: same code, the extra details (such as
 * `chainIndex`) added, a prefix on the message, the original as `cause`.
 */
export function within(err: MeshError, prefix: string, details: ErrorDetails, code: ErrorCode = err.code): MeshError {
  return new MeshError(code, `${prefix}: ${err.message}`, { details: { ...err.details, ...details }, cause: err });
}
