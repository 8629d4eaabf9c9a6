import { status as GrpcStatus } from '@grpc/grpc-js';
import { publicError } from '../../common/errors/public-error.js';
import type { ErrorCode } from '../../common/errors/registry.js';

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
 * the citymesh reason; what may be exposed is decided by `publicError`.
 */
export function httpError(err: unknown): {
  status: number;
  internal: boolean;
  body: { error: string; error_description: string; reason: ErrorCode };
} {
  const failure = publicError(err);
  const status = HTTP_OF[failure.status] ?? 500;
  const error =
    status === 404
      ? 'not_found'
      : status >= 500
        ? 'server_error'
        : status === 401
          ? 'invalid_client'
          : 'invalid_request';
  return {
    status,
    internal: failure.internal,
    body: { error, error_description: failure.message, reason: failure.code },
  };
}
