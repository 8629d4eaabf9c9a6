import type { Page, PageRequest } from './paging.js';

/** Largest policy set a version may hold: UTF-8 bytes of every path and content together. */
export const MAX_POLICY_SET_BYTES = 4 * 1024 * 1024;

/** One version of a city's policy set: the model and every file, exactly as loaded. */
export type PolicyVersion = {
  /** 1-64 characters of `[A-Za-z0-9._-]` (the engine uses a short content hash). */
  readonly version: string;
  /** Lower-case hex SHA-256 of the set's canonical content. */
  readonly digest: string;
  /**
   * Relative path (`model.conf`, `rules.csv`, `samples.yaml`) → UTF-8 content: at least one
   * file, `/`-separated paths without `.` or `..` segments, at most {@link MAX_POLICY_SET_BYTES}.
   */
  readonly files: Readonly<Record<string, string>>;
  readonly createdAt: Date;
  /** Subject id of who loaded it (1-512 characters). */
  readonly createdBy: string;
  /** At most 1000 characters. */
  readonly comment?: string;
};

/** A version as listed: without its files, with whether it is the one in force. */
export type PolicyVersionSummary = Omit<PolicyVersion, 'files'> & { readonly active: boolean };

/** The activation of a version. */
export type PolicyChange = {
  /** 1, 2, 3… in activation order. */
  readonly sequence: number;
  readonly version: string;
  /** The version in force before; absent for the first activation. */
  readonly previousVersion?: string;
  readonly changedAt: Date;
  /** Subject id of who activated it (1-512 characters). */
  readonly changedBy: string;
  /** The human-readable diff summary; at most 4000 characters. */
  readonly summary?: string;
  /** Rules added and removed relative to the previous version (integers ≥ 0). */
  readonly rulesAdded: number;
  readonly rulesRemoved: number;
};

/** What {@link PolicyStore.activate} needs; the store assigns `sequence` and `previousVersion`. */
export type PolicyActivation = Omit<PolicyChange, 'sequence' | 'previousVersion'>;

/**
 * A city's policy version history: immutable versions, and an append-only chain of
 * activations whose latest entry is the version in force.
 */
export interface PolicyStore {
  /**
   * Stores a version. Storing an identical version again is a no-op (safe to retry); the
   * same id with different content fails with `ALREADY_EXISTS`.
   */
  putVersion(version: PolicyVersion): Promise<void>;

  /** The version with its files, or `undefined`. */
  getVersion(version: string): Promise<PolicyVersion | undefined>;

  /** Versions newest first: `createdAt` descending, then `version` descending. */
  listVersions(page?: PageRequest): Promise<Page<PolicyVersionSummary>>;

  /**
   * Makes a stored version the one in force by appending a change. `expectedActive` is the
   * version the caller believes is in force (`undefined` = none yet); when another writer
   * activated something meanwhile the call fails with `VERSION_CONFLICT` and nothing
   * changes, so two administrators cannot silently overwrite each other. An unknown
   * version fails with `POLICY_VERSION_NOT_FOUND`. Re-activating the version in force is
   * a change too (e.g. a rollback to it).
   */
  activate(activation: PolicyActivation, expectedActive: string | undefined): Promise<PolicyChange>;

  /** The latest change, or `undefined` before any activation. Cheap: nodes poll it every second. */
  active(): Promise<PolicyChange | undefined>;

  /** Changes with `changedAt` ≥ `since`, in activation (`sequence`) order. */
  changes(since: Date, page?: PageRequest): Promise<Page<PolicyChange>>;
}
