/**
 * The city exchange node. Today: joining the cluster and keeping its trust state (cached,
 * verified cluster metadata, pinned anchor keys, the node's own X.509-SVID).
 *
 * @packageDocumentation
 */
export { loadNodeConfig, type NodeConfig } from './config.js';
export type { NodeIdentity } from './trust/identity.js';
export { type JoinInit, joinCluster } from './trust/join.js';
export { issueNodeCertificate, nodeCertificateDue } from './trust/node-certificate.js';
export { NODE_FILES, nodePath } from './trust/node-files.js';
export { TrustState, type TrustStatus } from './trust/trust-state.js';
