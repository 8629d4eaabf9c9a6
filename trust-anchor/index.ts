/**
 * The trust anchor: the cluster's root of trust, and the pure verification library that
 * city nodes use (statements, trust chains, cluster metadata, certificate paths).
 *
 * @packageDocumentation
 */
export { loadTrustAnchorConfig, type TrustAnchorConfig } from './config.js';
export { createJoinToken, formatJoinToken, type JoinToken, parseJoinToken, rootPinOf } from './enrol/join-token.js';
export * from './federation/index.js';
export { AnchorPublisher, type AnchorPublisherInit } from './gossip/publisher.js';
export { type AnchorServer, type AnchorServerInit, startAnchorServer } from './http/server.js';
export {
  ANCHOR_GOSSIP_KEY_FILE,
  type AnchorGossipSettings,
  anchorGossipSettings,
  createAnchorGossipKey,
} from './service/gossip-identity.js';
export {
  activeKey,
  createKey,
  keysWith,
  type LoadedKey,
  loadKey,
  publishedJwk,
  signingKey,
} from './service/key-material.js';
export type { AnchorGossipBinding, ClusterParameters } from './service/metadata.js';
export {
  type EnrolInput,
  type EnrolResult,
  TrustAnchor,
  type TrustAnchorComponents,
  type TrustAnchorSettings,
} from './service/trust-anchor.js';
export {
  type CertificateRole,
  canonicalSerial,
  checkCityCa,
  createClusterRootCa,
  createCsr,
  type EcKeyPair,
  exportPrivateKeyPem,
  exportPublicJwk,
  generateEcKeyPair,
  type IssuedCertificate,
  importPrivateKeyPem,
  issueCityIntermediateCa,
  issueSpiffeLeaf,
  issueTlsServerCert,
  keyIdOf,
  type PublicEcJwk,
  parseCsr,
  type VerifiedCertificatePath,
  verifyCertificatePath,
} from './x509/index.js';
