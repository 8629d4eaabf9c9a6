import { type ServerErrorResponse, type ServiceError, status } from '@grpc/grpc-js';
import { echoClient } from './client.js';
import type { RelayInit } from './relay.js';
import { serveEcho } from './serve.js';
import { serveFromParent } from './serve-from-parent.js';

/**
 * The relay's own process (forked by `startEchoRelay`): each echo call it serves, it
 * makes again to the upstream echo server over its own mTLS channel and answers with
 * what came back. Nothing else: no disk, no signing, no checks beyond mTLS.
 */
serveFromParent<RelayInit>(({ certs, upstream }) => {
  // One HTTP/2 connection upstream, presenting the client identity, as a node's peer channel.
  const client = echoClient(upstream, certs);
  return serveEcho(certs.rootPem, certs.server, (call, callback) => {
    client.call(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => callback(upstreamFailure(upstream, error)),
    );
  }).then((bound) => ({ ...bound, close: () => client.close() }));
});

/** The upstream's status, kept, with details that say the relay's upstream failed. */
function upstreamFailure(upstream: string, error: unknown): ServerErrorResponse {
  const failure = error as Partial<ServiceError>;
  const details = `relay upstream ${upstream} failed: ${failure.details ?? failure.message ?? String(error)}`;
  return {
    name: 'RelayUpstreamError',
    message: details,
    code: typeof failure.code === 'number' ? failure.code : status.UNAVAILABLE,
    details,
  };
}
