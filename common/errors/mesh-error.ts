import type { ErrorCode } from './registry.js';

/** Structured context for a failure: which field, which rule, which entity. Never secrets. */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | null>>;

/**
 * The one error type of citymesh. `code` is an `ErrorReason` name without its prefix
 * (`TOKEN_EXPIRED`), stable across releases; callers branch on it, never on `message`.
 */
export class MeshError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, options: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MeshError';
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }
}

/** True when `err` is a MeshError, optionally with the given code. */
export function isMeshError(err: unknown, code?: ErrorCode): err is MeshError {
  return err instanceof MeshError && (code === undefined || err.code === code);
}
