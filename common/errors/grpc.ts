import { status as GrpcStatus, Metadata, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { MeshError } from './mesh-error.js';
import { publicError } from './public-error.js';
import { ERROR_REGISTRY, type ErrorCode } from './registry.js';

/** Trailer carrying the `ErrorReason` name (without prefix) on every failed call. */
export const REASON_TRAILER = 'citymesh-reason';

/**
 * Maps any thrown value to a gRPC status. A MeshError keeps its code and message; anything
 * else becomes a generic INTERNAL whose message says nothing about internals (the caller
 * logs the original with `onInternal`).
 */
export function toGrpcStatus(err: unknown, onInternal?: (err: unknown) => void): StatusObject {
  const failure = publicError(err);
  if (failure.internal) onInternal?.(err);
  const metadata = new Metadata();
  metadata.set(REASON_TRAILER, failure.code);
  return { code: failure.status, details: failure.message, metadata };
}

/** A ServiceError ready to hand to a grpc-js callback or `call.destroy`. */
export function toServiceError(err: unknown, onInternal?: (err: unknown) => void): ServiceError {
  const s = toGrpcStatus(err, onInternal);
  return Object.assign(new Error(s.details), { code: s.code, details: s.details, metadata: s.metadata });
}

/**
 * Turns a failed call's error back into a MeshError on the client side, so callers branch on
 * the same codes locally and remotely. Errors without a citymesh reason (transport failures)
 * map by status: UNAVAILABLE and DEADLINE_EXCEEDED become PEER_UNAVAILABLE.
 */
export function fromServiceError(err: ServiceError): MeshError {
  const raw = err.metadata?.get(REASON_TRAILER)[0];
  const reason = typeof raw === 'string' && raw in ERROR_REGISTRY ? (raw as ErrorCode) : undefined;
  if (reason) return new MeshError(reason, err.details || ERROR_REGISTRY[reason].summary, { cause: err });
  const transport = err.code === GrpcStatus.UNAVAILABLE || err.code === GrpcStatus.DEADLINE_EXCEEDED;
  const code: ErrorCode = transport ? 'PEER_UNAVAILABLE' : 'INTERNAL';
  return new MeshError(code, err.details || ERROR_REGISTRY[code].summary, {
    details: { grpcStatus: err.code },
    cause: err,
  });
}
