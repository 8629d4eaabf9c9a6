import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { serveEcho } from './serve.js';
import { serveFromParent } from './serve-from-parent.js';
import type { EchoCerts } from './service.js';

/** The echo server's own process (forked by `startEchoServer`): the bytes it receives, sent back. */
serveFromParent<EchoCerts>((certs) =>
  serveEcho(certs.rootPem, certs.server, (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) =>
    callback(null, call.request),
  ),
);
