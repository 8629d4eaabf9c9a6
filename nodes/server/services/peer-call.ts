import type * as grpc from '@grpc/grpc-js';
import { fromServiceError } from '../../../common/errors/grpc.js';

/** Deadline of a forwarded unary call. */
export const FORWARD_DEADLINE_MS = 10_000;

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (err: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

/**
 * Calls a peer's unary method. A peer's refusal keeps its reason (the app sees the
 * provider's `POLICY_DENIED`, not a generic failure); an unreachable peer is
 * `PEER_UNAVAILABLE` (`fromServiceError`).
 */
export function callPeer<Req, Res>(
  client: object,
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: grpc.Metadata,
  deadlineMs = FORWARD_DEADLINE_MS,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, metadata, { deadline: Date.now() + deadlineMs }, (err, response) => {
      if (err) reject(fromServiceError(err));
      else resolve(response);
    });
  });
}
