import { status as GrpcStatus } from '@grpc/grpc-js';
import { MeshError } from '../../common/errors/mesh-error.js';
import { ERROR_REGISTRY, type ErrorCode } from '../../common/errors/registry.js';

/** gRPC status → HTTP status, for the anchor's HTTPS binding of TrustService. */
const HTTP_OF: Partial<Record<GrpcStatus, number>> = {
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.UNAUTHENTICATED]: 401,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.ALREADY_EXISTS]: 409,
  [GrpcStatus.ABORTED]: 409,
  [GrpcStatus.FAILED_PRECONDITION]: 412,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 429,
  [GrpcStatus.UNIMPLEMENTED]: 501,
  [GrpcStatus.UNAVAILABLE]: 503,
};

/**
 * An error response in the OpenID Federation shape (`error`, `error_description`) plus
 * the citymesh reason. Anything not a MeshError is a generic `server_error`.
 */
export function httpError(err: unknown): {
  status: number;
  body: { error: string; error_description: string; reason: ErrorCode };
} {
  const code: ErrorCode = err instanceof MeshError ? err.code : 'INTERNAL';
  const entry = ERROR_REGISTRY[code];
  const status = HTTP_OF[entry.status] ?? 500;
  const description = err instanceof MeshError && code !== 'INTERNAL' ? err.message : entry.summary;
  const error =
    status === 404
      ? 'not_found'
      : status >= 500
        ? 'server_error'
        : status === 401
          ? 'invalid_client'
          : 'invalid_request';
  return { status, body: { error, error_description: description, reason: code } };
}
