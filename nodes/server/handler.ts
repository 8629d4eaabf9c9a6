import type * as grpc from '@grpc/grpc-js';
import { toServiceError } from '../../common/errors/grpc.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { Logger } from '../../common/logger.js';
import type { CallCredentials, Caller, CallerAuthenticator } from './caller.js';

/** What every handler gets besides its request. */
export interface HandlerDeps {
  readonly callers: CallerAuthenticator;
  readonly log: Logger;
}

/**
 * Wraps a unary handler: authenticates the caller first (nothing runs for an unknown
 * one), and turns any failure into a status with its reason trailer, never leaking the
 * message of an internal error.
 */
export function unary<Req, Res>(
  deps: HandlerDeps,
  method: string,
  handle: (request: Req, caller: Caller, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => answer(deps, method, call, callback, (caller) => handle(call.request, caller, call));
}

/** Authenticates the caller, runs the handler, and sends its one response or its failure. */
function answer<Res>(
  deps: HandlerDeps,
  method: string,
  call: object,
  callback: grpc.sendUnaryData<Res>,
  run: (caller: Caller) => Promise<Res>,
): void {
  authenticated(deps, call, method).then(
    (caller) =>
      run(caller).then(
        (response) => callback(null, response),
        (err: unknown) => callback(toServiceError(err, (e) => deps.log.error({ err: e, method }, 'call failed'))),
      ),
    (err: unknown) => callback(toServiceError(err, (e) => deps.log.error({ err: e, method }, 'authentication failed'))),
  );
}

/**
 * Methods an app of another city may call with a peer access token: the exchanges a grant
 * can authorise. Everything else is for this city's apps and the cluster's nodes.
 */
export const VISITOR_METHODS: ReadonlySet<string> = new Set(['FetchRecords', 'StreamRecords', 'InvokeCapability']);

/** The caller, or the failure to authenticate it, as a promise (token checks may be async). */
async function authenticated(deps: HandlerDeps, call: object, method: string): Promise<Caller> {
  const caller = await deps.callers.authenticate(call as unknown as CallCredentials);
  if (caller.kind === 'visitor' && !VISITOR_METHODS.has(method)) {
    throw new MeshError(
      'ROLE_REQUIRED',
      `${method} is not open to a peer access token, which is good only for its one exchange (${[...VISITOR_METHODS].join(', ')})`,
      { details: { method, rule: 'visitor-methods' } },
    );
  }
  return caller;
}

/** Wraps a server-streaming handler the same way; the handler writes and the wrapper ends. */
export function serverStream<Req, Res>(
  deps: HandlerDeps,
  method: string,
  handle: (request: Req, caller: Caller, call: grpc.ServerWritableStream<Req, Res>) => Promise<void>,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    authenticated(deps, call, method).then(
      (caller) =>
        handle(call.request, caller, call).then(
          () => call.end(),
          (err: unknown) =>
            failStream(
              call,
              toServiceError(err, (e) => deps.log.error({ err: e, method }, 'stream failed')),
            ),
        ),
      (err: unknown) =>
        failStream(
          call,
          toServiceError(err, (e) => deps.log.error({ err: e, method }, 'authentication failed')),
        ),
    );
  };
}

/**
 * Ends a server stream with an error status. grpc-js sends the status from the stream's
 * 'error' event (it ends the stream with that status); `destroy(err)` would tear the
 * stream down before the status is written, leaving the client waiting for it.
 */
function failStream(call: grpc.ServerWritableStream<unknown, unknown>, err: grpc.ServiceError): void {
  if (call.destroyed || call.writableEnded) return;
  call.emit('error', err);
}

/** Writes one message and waits for the transport to drain when its buffer is full (backpressure). */
export function writeWithBackpressure<Res>(call: grpc.ServerWritableStream<unknown, Res>, message: Res): Promise<void> {
  if (call.write(message)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      call.off('error', onError);
      resolve();
    };
    const onError = (err: unknown) => {
      call.off('drain', onDrain);
      reject(err);
    };
    call.once('drain', onDrain);
    call.once('error', onError);
  });
}

/**
 * Wraps a client-streaming handler the same way: the caller is known before a single
 * message is read, and the handler reads the stream and returns the one response.
 */
export function clientStream<Req, Res>(
  deps: HandlerDeps,
  method: string,
  handle: (call: grpc.ServerReadableStream<Req, Res>, caller: Caller) => Promise<Res>,
): grpc.handleClientStreamingCall<Req, Res> {
  return (call, callback) => answer(deps, method, call, callback, (caller) => handle(call, caller));
}
