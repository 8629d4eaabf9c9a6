import type { RegionLevel } from '../../common/ids/region-level.js';
import type { PublicJwk } from '../../common/stores/index.js';

/**
 * What policy sees about a subject (a person or an app) of this city. Copied into every
 * access token the city's OIDC provider issues, so a resource server never has to look
 * the subject up.
 */
export interface SubjectAttributes {
  readonly org: string;
  readonly industry: string;
  readonly level: RegionLevel;
  /** GB/T 2260 region code (6, 9 or 12 digits). */
  readonly region: string;
  readonly roles: readonly string[];
}

/** A person who logs in at the city's provider. */
export interface AccountRecord {
  /** The OIDC `sub`: random, never reused, never the username (usernames may be renamed). */
  readonly accountId: string;
  /** Lower case; unique in the store. */
  readonly username: string;
  /** `$scrypt$...` string from passwords.ts (parameters travel with the hash). */
  readonly passwordHash: string;
  readonly attributes: SubjectAttributes;
  readonly createdAt: string;
  readonly disabledAt?: string;
}

/** An app (OAuth client) registered with `citymesh clients add`. */
export interface ClientRecord {
  readonly clientId: string;
  /** Public keys only; every key has the same algorithm, {@link ClientRecord.alg}. */
  readonly jwks: { readonly keys: readonly PublicJwk[] };
  /** The one algorithm its `private_key_jwt` assertions may use (pinned per client). */
  readonly alg: 'ES256' | 'EdDSA';
  readonly attributes: SubjectAttributes;
  /** Empty for a machine-only client (`client_credentials`); otherwise it may run the login flow. */
  readonly redirectUris: readonly string[];
  /** Opted in to the token exchange grant (`clients add --cross-city`); absent = no. */
  readonly crossCity?: boolean;
  readonly createdAt: string;
  readonly disabledAt?: string;
}

/** One stored oidc-provider object (session, grant, code, token, interaction, replay entry). */
export interface StoredPayload {
  readonly payload: Record<string, unknown>;
  /** Epoch ms; absent = does not expire. */
  readonly expiresAtMs?: number;
}

/** The persistence the city's OIDC provider needs; SQLite on a node, memory in tests. */
export interface OidcStore {
  putAccount(account: AccountRecord): Promise<void>;
  accountByUsername(username: string): Promise<AccountRecord | undefined>;
  accountById(accountId: string): Promise<AccountRecord | undefined>;

  putClient(client: ClientRecord): Promise<void>;
  client(clientId: string): Promise<ClientRecord | undefined>;
  listClients(): Promise<readonly ClientRecord[]>;

  /** oidc-provider adapter operations, per model name (`Session`, `Grant`, `AccessToken`, ...). */
  upsertPayload(model: string, id: string, payload: Record<string, unknown>, expiresAtMs?: number): Promise<void>;
  /** The payload, or `undefined` when absent or expired at `nowMs`. */
  findPayload(model: string, id: string, nowMs: number): Promise<Record<string, unknown> | undefined>;
  findPayloadBy(
    model: string,
    field: 'uid' | 'userCode',
    value: string,
    nowMs: number,
  ): Promise<Record<string, unknown> | undefined>;
  /** Marks the payload consumed (`consumed` = epoch seconds), as oidc-provider expects. */
  consumePayload(model: string, id: string, consumedAtSeconds: number): Promise<void>;
  destroyPayload(model: string, id: string): Promise<void>;
  revokeByGrantId(model: string, grantId: string): Promise<void>;

  /**
   * A named secret of this store (e.g. cookie signing keys): returns the stored value,
   * or stores and returns `create()` when there is none yet.
   */
  secret(name: string, create: () => string): Promise<string>;

  close(): Promise<void>;
}
