/**
 * The exchange node's peer security: who is at the other end of an mTLS connection
 * (`authenticatePeer`), and the exchange grant a home node forwards with a request
 * (`issueExchangeGrant`, `verifyExchangeGrant`, replay cache).
 *
 * @packageDocumentation
 */

export {
  DEFAULT_GRANT_LEEWAY_SECONDS,
  DEFAULT_GRANT_LIFETIME_SECONDS,
  type ExchangeGrantRequest,
  type ExchangeGrantSigner,
  federationKeySigner,
  issueExchangeGrant,
  MAX_GRANT_BYTES,
  MAX_GRANT_LEEWAY_SECONDS,
  type VerifiedExchangeGrant,
  type VerifyExchangeGrantOptions,
  verifyExchangeGrant,
} from './grant.js';
export {
  type ActorClaim,
  CLASSIFICATIONS,
  type Classification,
  EXCHANGE_GRANT_TYP,
  type ExchangeGrantClaims,
  type ExchangeGrantSubject,
  GRANT_ACTIONS,
  type GrantAction,
  MAX_ACT_DEPTH,
  MAX_GRANT_LIFETIME_SECONDS,
} from './grant-claims.js';
export { type PeerAuthContext, peerChainOf, peerChainOfCall } from './grpc-peer.js';
export {
  type AuthenticatedPeer,
  type AuthenticatePeerOptions,
  authenticatePeer,
  type PeerCertificateChain,
} from './peer-auth.js';
export { PeerCache } from './peer-cache.js';
export { MemoryReplayCache, type MemoryReplayCacheOptions, type ReplayCache } from './replay-cache.js';
