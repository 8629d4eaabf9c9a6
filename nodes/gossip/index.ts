/**
 * A node's gossip: metadata and revocations received and passed on through
 * `TrustState.admit`, signed catalog change notices announced and verified, and the
 * service that runs them next to the node's gRPC exchange.
 *
 * @packageDocumentation
 */
export { CatalogBoard, type NoticeRecord } from './catalog-board.js';
export {
  CATALOG_CHANGE_TYP,
  CATALOG_NOTICE_LIFETIME_SECONDS,
  type CatalogChange,
  type CatalogNoticeClaims,
  MAX_NOTICE_CHANGES,
  type NoticeSigner,
  signCatalogNotice,
  type VerifiedNotice,
  type VerifyNoticeOptions,
  verifyCatalogNotice,
} from './catalog-notice.js';
export { CATALOG_STATE_FILE, CatalogWatch, catalogChanges } from './catalog-watch.js';
export { type AcceptMetadata, metadataValidator, metadataVerdict } from './metadata-topic.js';
export {
  type GossipStart,
  type NodeGossip,
  type NodeGossipOptions,
  startGossipIfBound,
  startNodeGossip,
} from './node-gossip.js';
