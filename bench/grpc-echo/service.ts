import type { ServiceDefinition } from '@grpc/grpc-js';

/** The baseline's one RPC: bytes in, the same bytes out. No protobuf, no app logic. */
export const ECHO_PATH = '/citymesh.bench.Echo/Echo';

const raw = (value: Buffer): Buffer => value;

export const ECHO_SERVICE: ServiceDefinition = {
  echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  },
};

/** A TLS identity: private key and certificate chain, leaf first, as PEM. */
export interface TlsIdentity {
  readonly keyPem: string;
  readonly certChainPem: string;
}

/** Everything both ends need for mTLS; plain strings so it crosses to the server process as JSON. */
export interface EchoCerts {
  /** The cluster root both sides trust. */
  readonly rootPem: string;
  readonly server: TlsIdentity;
  readonly client: TlsIdentity;
}
