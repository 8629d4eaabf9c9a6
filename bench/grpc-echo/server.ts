import { type EchoServer, forkServer, processEntry } from './fork-server.js';
import type { EchoCerts } from './service.js';

export type { EchoServer } from './fork-server.js';

/** The compiled server entry, whether this module runs from `dist/` or from source (vitest). */
export const ECHO_SERVER_ENTRY = processEntry('server-process.js');

/** Starts the bare grpc-js mTLS echo server in a child process. */
export function startEchoServer(certs: EchoCerts): Promise<EchoServer> {
  return forkServer(ECHO_SERVER_ENTRY, certs, 'echo server');
}
