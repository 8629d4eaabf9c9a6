import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { ECHO_SERVICE, type EchoCerts } from './service.js';

/**
 * The echo server's own process (forked by `startEchoServer`), so the baseline's server
 * never shares an event loop with the load generator. Protocol over the IPC channel:
 * it receives the certificates, answers `{ port }` once bound, and exits on `stop` or
 * when its parent goes away.
 */

function serve(certs: EchoCerts): Promise<{ server: Server; port: number }> {
  const server = new Server();
  server.addService(ECHO_SERVICE, {
    echo: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, call.request),
  });
  const credentials = ServerCredentials.createSsl(
    Buffer.from(certs.rootPem),
    [{ private_key: Buffer.from(certs.server.keyPem), cert_chain: Buffer.from(certs.server.certChainPem) }],
    true,
  );
  return new Promise((resolve, reject) => {
    server.bindAsync('localhost:0', credentials, (error, port) => (error ? reject(error) : resolve({ server, port })));
  });
}

let running: Server | undefined;

function exit(code: number): void {
  running?.forceShutdown();
  process.exit(code);
}

process.on('disconnect', () => exit(0));
process.on('message', (message: unknown) => {
  if (message === 'stop') return exit(0);
  if (running !== undefined) return;
  serve(message as EchoCerts).then(
    ({ server, port }) => {
      running = server;
      process.send?.({ port });
    },
    (error: unknown) => {
      process.send?.({ error: String(error) });
      exit(1);
    },
  );
});
