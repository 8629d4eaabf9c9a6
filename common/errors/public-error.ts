import type { status as GrpcStatus } from '@grpc/grpc-js';
import { MeshError } from './mesh-error.js';
import { ERROR_REGISTRY, type ErrorCode } from './registry.js';

/** What any transport may tell a caller about a failure. */
export interface PublicError {
  readonly code: ErrorCode;
  /** The canonical gRPC status of `code`. */
  readonly status: GrpcStatus;
  readonly message: string;
  /** True when the failure was not a deliberate MeshError (or was INTERNAL): log the original. */
  readonly internal: boolean;
}

/**
 * The one rule for exposing a failure, shared by gRPC and HTTPS: a MeshError keeps its
 * code and message; anything else, and INTERNAL itself, becomes INTERNAL with the
 * generic summary, since its message might contain paths, SQL or key material.
 */
export function publicError(err: unknown): PublicError {
  const mesh = err instanceof MeshError ? err : null;
  const code: ErrorCode = mesh?.code ?? 'INTERNAL';
  const entry = ERROR_REGISTRY[code];
  const internal = code === 'INTERNAL';
  return { code, status: entry.status, message: mesh && !internal ? mesh.message : entry.summary, internal };
}
