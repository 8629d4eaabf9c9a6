import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { ECHO_PATH, type EchoCerts, type TlsIdentity } from './service.js';

export interface EchoClient {
  /** One unary echo; resolves with the bytes the server sent back. */
  call(payload: Buffer): Promise<Buffer>;
  close(): void;
}

const raw = (value: Buffer): Buffer => value;

/**
 * A grpc-js client of the echo server over mTLS (one HTTP/2 connection, as the mesh's
 * node-to-node clients). Without `client` it presents no certificate, which the server
 * must refuse.
 */
export function echoClient(
  address: string,
  certs: Pick<EchoCerts, 'rootPem'> & { readonly client?: TlsIdentity },
): EchoClient {
  const channel = credentials.createSsl(
    Buffer.from(certs.rootPem),
    certs.client === undefined ? null : Buffer.from(certs.client.keyPem),
    certs.client === undefined ? null : Buffer.from(certs.client.certChainPem),
  );
  const client = new Client(address, channel);
  return {
    call: (payload) =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(ECHO_PATH, raw, raw, payload, new Metadata(), {}, (error, response) =>
          error || response === undefined ? reject(error ?? new Error('empty echo response')) : resolve(response),
        );
      }),
    close: () => client.close(),
  };
}
