import { type handleUnaryCall, Server, ServerCredentials } from '@grpc/grpc-js';
import { ECHO_SERVICE, type TlsIdentity } from './service.js';

/** A bound grpc-js server and what else its process must close on the way out. */
export interface BoundServer {
  readonly server: Server;
  readonly port: number;
  /** Closes what the server uses besides itself (the relay's upstream channel). */
  readonly close?: () => void;
}

/**
 * Serves the echo RPC with `echo` on `localhost:0` under mTLS: `identity` is the
 * server's, and clients must present a certificate chaining to `rootPem`.
 */
export function serveEcho(
  rootPem: string,
  identity: TlsIdentity,
  echo: handleUnaryCall<Buffer, Buffer>,
): Promise<BoundServer> {
  const server = new Server();
  server.addService(ECHO_SERVICE, { echo });
  const credentials = ServerCredentials.createSsl(
    Buffer.from(rootPem),
    [{ private_key: Buffer.from(identity.keyPem), cert_chain: Buffer.from(identity.certChainPem) }],
    true,
  );
  return new Promise((resolve, reject) => {
    server.bindAsync('localhost:0', credentials, (error, port) => (error ? reject(error) : resolve({ server, port })));
  });
}
