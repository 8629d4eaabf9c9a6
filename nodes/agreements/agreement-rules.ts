import { MeshError } from '../../common/errors/mesh-error.js';
import type { Agreement, AgreementState, CatalogEntry } from '../../common/stores/index.js';
import { CLASSIFICATION_RANK, type SubjectAttributes } from '../policy/engine/index.js';
import type { NodePolicy } from '../policy/node-policy.js';

/**
 * Which negotiation step may follow which, after the Dataspace Protocol's contract
 * negotiation. The store only guards versions; these rules are the domain's.
 */

/** States an agreement can still leave. */
export const OPEN_STATES: ReadonlySet<AgreementState> = new Set([
  'REQUESTED',
  'OFFERED',
  'ACCEPTED',
  'AGREED',
  'VERIFIED',
  'FINALIZED',
]);
/** Still being negotiated: approve and reject apply. */
export const NEGOTIATING_STATES: ReadonlySet<AgreementState> = new Set(['REQUESTED', 'OFFERED', 'ACCEPTED']);
/** In force (`liveAgreement` accepts these too): terminate applies. */
export const IN_FORCE_STATES: ReadonlySet<AgreementState> = new Set(['AGREED', 'VERIFIED', 'FINALIZED']);

/** Whether `agreement` is in force for `city`'s use of `datasetId` at `nowMs`: what an exchange may rely on. */
export function isLiveAgreement(
  agreement: Agreement | undefined,
  datasetId: string,
  city: string,
  nowMs: number,
): agreement is Agreement {
  return (
    agreement !== undefined &&
    agreement.datasetId === datasetId &&
    agreement.consumerCity === city &&
    IN_FORCE_STATES.has(agreement.state) &&
    (agreement.expiresAt === undefined || agreement.expiresAt.getTime() > nowMs)
  );
}

/** Longest an agreement may run; a longer request is shortened to this (the provider may shorten). */
export const MAX_AGREEMENT_DAYS = 365;
const DAY_MS = 86_400_000;

export type AgreementOperation = 'approve' | 'reject' | 'terminate';

const ALLOWED: Record<AgreementOperation, { states: ReadonlySet<AgreementState>; to: AgreementState }> = {
  approve: { states: new Set(['REQUESTED', 'OFFERED']), to: 'AGREED' },
  reject: { states: NEGOTIATING_STATES, to: 'TERMINATED' },
  terminate: { states: IN_FORCE_STATES, to: 'TERMINATED' },
};

/** The state `operation` leads to; `AGREEMENT_STATE_INVALID` when the agreement's state does not allow it. */
export function nextState(agreement: Agreement, operation: AgreementOperation): AgreementState {
  const rule = ALLOWED[operation];
  if (!rule.states.has(agreement.state)) {
    throw new MeshError(
      'AGREEMENT_STATE_INVALID',
      `agreement ${agreement.id} is ${agreement.state}; only ${[...rule.states].join(' or ')} can be ${PAST[operation]}`,
      { details: { id: agreement.id, state: agreement.state, operation } },
    );
  }
  return rule.to;
}

const PAST: Record<AgreementOperation, string> = { approve: 'approved', reject: 'rejected', terminate: 'terminated' };

/** Whether the agreement's validity has run out while it was still open. */
export function isDue(agreement: Agreement, nowMs: number): boolean {
  return (
    OPEN_STATES.has(agreement.state) && agreement.expiresAt !== undefined && agreement.expiresAt.getTime() <= nowMs
  );
}

/** Datasets the policy serves only under a live agreement; asking for one elsewhere makes no sense. */
export function needsAgreement(entry: CatalogEntry): boolean {
  return entry.requiresAgreement || CLASSIFICATION_RANK[entry.classification] >= CLASSIFICATION_RANK.sensitive;
}

/**
 * The end of validity a consumer asked for, checked: in the future, and no later than
 * {@link MAX_AGREEMENT_DAYS} from now (later requests are shortened, not refused).
 */
export function requestedExpiry(notAfter: Date | undefined, now: Date): Date {
  if (notAfter === undefined || Number.isNaN(notAfter.getTime())) {
    throw new MeshError('MALFORMED_REQUEST', 'RequestAgreementRequest.not_after: is required', {
      details: { field: 'not_after' },
    });
  }
  if (notAfter.getTime() <= now.getTime()) {
    throw new MeshError('MALFORMED_REQUEST', `not_after ${notAfter.toISOString()} is not in the future`, {
      details: { field: 'not_after' },
    });
  }
  return new Date(Math.min(notAfter.getTime(), now.getTime() + MAX_AGREEMENT_DAYS * DAY_MS));
}

/**
 * The end of validity the data office approves: `days` from now, but never later than
 * what the consumer asked for (the provider may shorten the term, not extend it).
 */
export function approvedExpiry(agreement: Agreement, now: Date, days: number | undefined): Date | undefined {
  if (days === undefined) return agreement.expiresAt;
  if (!Number.isFinite(days) || days <= 0 || days > MAX_AGREEMENT_DAYS) {
    throw new MeshError('MALFORMED_REQUEST', `expires-in must be between 0 and ${MAX_AGREEMENT_DAYS} days`, {
      details: { field: 'expires_in' },
    });
  }
  const offered = now.getTime() + days * DAY_MS;
  return new Date(Math.min(offered, agreement.expiresAt?.getTime() ?? offered));
}

/** The outcome of the auto-approval rule. */
export interface AutoApproval {
  readonly approved: boolean;
  /** The policy rule that would serve the consumer, or why the data office must decide. */
  readonly rule: string;
  readonly policyVersion: string;
}

/**
 * The auto-approval rule: an agreement is agreed at once when the dataset is at most
 * `internal` and the provider's grants already let the consumer's city read it for this
 * purpose once an agreement exists (a grant line, `*` included, covering the city, the
 * resource, `read`, the classification and the purpose). The agreement then only records
 * terms the city has already granted in general. Sensitive and restricted data, and
 * anything no grant covers, wait for the data office.
 */
export function autoApproval(
  policy: NodePolicy,
  entry: CatalogEntry,
  subject: SubjectAttributes,
  purpose: string,
  hypothetical: Agreement,
): AutoApproval {
  if (CLASSIFICATION_RANK[entry.classification] > CLASSIFICATION_RANK.internal) {
    return { approved: false, rule: `classification:${entry.classification}`, policyVersion: policy.version };
  }
  const decision = policy.decide({ subject, action: 'read', purpose, entry, agreement: hypothetical });
  return { approved: decision.allowed, rule: decision.rule, policyVersion: decision.policyVersion };
}
