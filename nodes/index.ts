/**
 * The city exchange node: joining the cluster, its trust state (cached, verified cluster
 * metadata, pinned anchor keys, the node's own X.509-SVID), the mTLS gRPC exchange, and
 * gossip with the cluster's other nodes.
 *
 * @packageDocumentation
 */

export { type AppClients, connectApp, unaryCall } from './apps/app-client.js';
export { APP_FILES, type AppInfo, issueAppCredentials } from './apps/app-credentials.js';
export { disableApp, type RegisteredApp, readApps, registerApp } from './apps/app-registry.js';
export { loadNodeConfig, type NodeConfig } from './config.js';
export {
  CatalogBoard,
  type CatalogChange,
  type NodeGossip,
  type NoticeRecord,
  signCatalogNotice,
  startNodeGossip,
  verifyCatalogNotice,
} from './gossip/index.js';
export {
  type Activation,
  activatePolicySet,
  addGrant,
  type CityGrant,
  describeRule,
  GRANTS_RULE_FILE,
  grantRules,
  NODE_POLICY_DIR,
  NodePolicy,
  snapshotOf,
} from './policy/index.js';
export { installExchangeServices } from './server/exchange-services.js';
export { type NodeContext, type RunningNode, type StartNodeOptions, startNode } from './server/node-runtime.js';
export { cityCaDue, renewCityCa } from './trust/city-ca-renewal.js';
export type { NodeIdentity } from './trust/identity.js';
export { type JoinInit, joinCluster } from './trust/join.js';
export { issueNodeCertificate, nodeCertificateDue } from './trust/node-certificate.js';
export { NODE_FILES, nodePath } from './trust/node-files.js';
export {
  type Admission,
  type NodeFileWriter,
  TrustState,
  type TrustStateOptions,
  type TrustStatus,
} from './trust/trust-state.js';
