import type { Page, PageRequest } from './paging.js';

/** Negotiation states, after the Dataspace Protocol's contract negotiation. */
export type AgreementState =
  | 'REQUESTED'
  | 'OFFERED'
  | 'ACCEPTED'
  | 'AGREED'
  | 'VERIFIED'
  | 'FINALIZED'
  | 'TERMINATED'
  | 'EXPIRED';

/** Every {@link AgreementState}, in negotiation order. */
export const AGREEMENT_STATES: readonly AgreementState[] = [
  'REQUESTED',
  'OFFERED',
  'ACCEPTED',
  'AGREED',
  'VERIFIED',
  'FINALIZED',
  'TERMINATED',
  'EXPIRED',
];

/** One step of an agreement's life. */
export type AgreementTransition = {
  readonly from: AgreementState;
  readonly to: AgreementState;
  readonly at: Date;
  readonly actor: string;
  readonly reason?: string;
};

/** An access agreement between a consumer in one city and a providing city. */
export type Agreement = {
  readonly id: string;
  readonly datasetId: string;
  readonly consumerCity: string;
  readonly consumerSubject: string;
  readonly providerCity: string;
  readonly purpose: string;
  readonly state: AgreementState;
  /** 1 at creation, +1 per transition; the compare-and-set token. */
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly expiresAt?: Date;
  /** Oldest first. */
  readonly history: readonly AgreementTransition[];
};

/** What {@link AgreementStore.create} needs; the store sets version 1, `updatedAt` and `history`. */
export type NewAgreement = Omit<Agreement, 'version' | 'updatedAt' | 'history'>;

/** A compare-and-set transition request. */
export type TransitionRequest = {
  /** The version the caller read; a stale one fails with `VERSION_CONFLICT`. */
  readonly expectedVersion: number;
  readonly to: AgreementState;
  readonly at: Date;
  readonly actor: string;
  readonly reason?: string;
  /** Replaces `expiresAt` (an offer may fix how long the agreement lives). */
  readonly expiresAt?: Date;
};

/** Filter for {@link AgreementStore.list}; absent fields match everything. */
export type AgreementFilter = {
  readonly datasetId?: string;
  readonly consumerCity?: string;
  readonly state?: AgreementState;
};

/**
 * Access agreements. Which transitions are legal is the domain's business; the store
 * only makes each transition a compare-and-set on `version`.
 */
export interface AgreementStore {
  /**
   * Creates an agreement at version 1. Creating an identical one again (still at
   * version 1) returns it; anything else under an existing id fails with `ALREADY_EXISTS`.
   */
  create(agreement: NewAgreement): Promise<Agreement>;

  /** The agreement, or `undefined`. */
  get(id: string): Promise<Agreement | undefined>;

  /** Agreements in `id` order. */
  list(filter: AgreementFilter, page?: PageRequest): Promise<Page<Agreement>>;

  /**
   * Moves the agreement to `to` when its version is still `expectedVersion`, appending
   * to its history. Fails with `VERSION_CONFLICT` when another change came first and
   * with `AGREEMENT_NOT_FOUND` for an unknown id.
   */
  transition(id: string, request: TransitionRequest): Promise<Agreement>;
}
