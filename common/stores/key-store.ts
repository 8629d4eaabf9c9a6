import type { PublicJwk } from './json.js';
import type { Page, PageRequest } from './paging.js';

/** What a key is for; one node holds keys of several purposes. */
export type KeyPurpose = 'federation' | 'ca' | 'tls' | 'oidc' | 'audit' | 'receipt' | 'device-ca';

/**
 * Lifecycle of a key. Rollover is two-staged: a key is published as `next`, becomes
 * `active`, then `retired` (still published for verification). `revoked` is reachable
 * from any state and is terminal.
 */
export type KeyStatus = 'next' | 'active' | 'retired' | 'revoked';

/** A stored key. Timestamps come from the caller's clock. */
export type StoredKey = {
  /** Key id (JWK `kid`); unique in the store. */
  readonly kid: string;
  readonly purpose: KeyPurpose;
  /** JWA algorithm name (`ES256`, `EdDSA`, ...). */
  readonly alg: string;
  readonly publicJwk: PublicJwk;
  /** PKCS#8 PEM; absent for keys this node only verifies with (peers', pinned anchors'). */
  readonly privateKeyPem?: string;
  /** PEM certificate (or chain) for keys that have one (CA, TLS). */
  readonly certificatePem?: string;
  readonly status: KeyStatus;
  readonly createdAt: Date;
  /** Set by the `next → active` transition. */
  readonly activatedAt?: Date;
  /** Set by the `active → retired` transition. */
  readonly retiredAt?: Date;
  /** Set by the first transition to `revoked`. */
  readonly revokedAt?: Date;
};

/** Filter for {@link KeyStore.list}; absent fields match everything. */
export type KeyFilter = {
  readonly purpose?: KeyPurpose;
  readonly status?: KeyStatus;
};

/**
 * Keys of the anchor or a node: federation signing keys, CA keys, OIDC keys, audit
 * checkpoint and receipt signing keys.
 */
export interface KeyStore {
  /**
   * Stores a new key. Storing an identical key again is a no-op (safe to retry);
   * a different key under an existing `kid` fails with `ALREADY_EXISTS`.
   */
  put(key: StoredKey): Promise<void>;

  /** The key, or `undefined` when no key has this `kid`. */
  get(kid: string): Promise<StoredKey | undefined>;

  /** Keys in `kid` order. */
  list(filter: KeyFilter, page?: PageRequest): Promise<Page<StoredKey>>;

  /**
   * Moves a key along its lifecycle and records `at` in the matching timestamp.
   * Allowed: `next → active`, `active → retired`, any → `revoked` (revoking a revoked
   * key is a no-op that keeps the first `revokedAt`). Anything else fails with
   * `MALFORMED_REQUEST` naming the transition; an unknown `kid` with `KEY_NOT_FOUND`.
   */
  setStatus(kid: string, status: KeyStatus, at: Date): Promise<StoredKey>;
}
