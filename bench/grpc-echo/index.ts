/**
 * The bare grpc-js mTLS echo: the baseline the mesh's exchange path is measured against,
 * and the bare two-hop relay of it: the ceiling of any two-hop path.
 *
 * @packageDocumentation
 */
export { ECHO_DEFAULTS, type EchoBaseline, type EchoBaselineOptions, measureEchoBaseline } from './baseline.js';
export { makeEchoCerts } from './certs.js';
export { type EchoClient, echoClient } from './client.js';
export { ECHO_RELAY_ENTRY, startEchoRelay } from './relay.js';
export {
  measureRelayBaseline,
  RELAY_DEFAULTS,
  type RelayBaseline,
  type RelayBaselineOptions,
  relayThroughputResult,
} from './relay-baseline.js';
export { ECHO_SERVER_ENTRY, type EchoServer, startEchoServer } from './server.js';
export { ECHO_PATH, ECHO_SERVICE, type EchoCerts, type TlsIdentity } from './service.js';
export { grpcEchoSuite } from './suite.js';
