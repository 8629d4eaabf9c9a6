import { type EchoServer, forkServer, processEntry } from './fork-server.js';
import type { EchoCerts } from './service.js';

/** The compiled relay entry, whether this module runs from `dist/` or from source (vitest). */
export const ECHO_RELAY_ENTRY = processEntry('relay-process.js');

/** What the relay process gets from its parent: plain JSON. */
export interface RelayInit {
  /** The relay serves as `certs.server` and dials `upstream` as `certs.client`. */
  readonly certs: EchoCerts;
  /** The echo server's `localhost:<port>`. */
  readonly upstream: string;
}

/**
 * Starts a bare grpc-js mTLS relay of the echo RPC in a child process: every call it
 * serves is made again to `upstream` (an echo server) and answered with its response,
 * the shape of a two-hop path (app → home node → peer node) with nothing on it but mTLS.
 * A call whose upstream call fails fails with the upstream's status code and details
 * naming the upstream.
 */
export function startEchoRelay(certs: EchoCerts, upstream: string): Promise<EchoServer> {
  const init: RelayInit = { certs, upstream };
  return forkServer(ECHO_RELAY_ENTRY, init, 'echo relay');
}
