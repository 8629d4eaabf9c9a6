import type { ErrorCode } from '../../../common/errors/index.js';
import type { RegionLevel } from '../../../common/ids/index.js';
import type { Classification } from '../../../common/stores/index.js';

/** What a subject may ask to do (the interim policy's actions, unchanged). */
export const POLICY_ACTIONS = ['read', 'subscribe', 'invoke', 'publish', 'administer'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

export const SUBJECT_KINDS = ['person', 'app', 'device', 'node'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

export const CLASSIFICATIONS = ['public', 'internal', 'sensitive', 'restricted'] as const;

export const CLASSIFICATION_RANK: Readonly<Record<Classification, number>> = Object.freeze({
  public: 0,
  internal: 1,
  sensitive: 2,
  restricted: 3,
});

/**
 * Who asks, taken from verified tokens, grants and device credentials: never from the
 * request body. `id` and `org` are carried for audit but no rule column reads them, so
 * a million devices with the same attributes share one cached decision.
 */
export interface SubjectAttributes {
  readonly kind: SubjectKind;
  readonly id: string;
  readonly city: string;
  readonly industry: string;
  readonly level: RegionLevel;
  /** GB/T 2260 code (6, 9 or 12 digits) of the region the subject acts for. */
  readonly region: string;
  readonly org?: string;
  readonly roles: readonly string[];
}

/** The resource asked for, as its catalog entry describes it. */
export interface ObjectAttributes {
  readonly ownerCity: string;
  /** `<cluster>/<city>/<org>/<name>`, without `@version`. */
  readonly id: string;
  readonly industry: string;
  readonly region: string;
  readonly classification: Classification;
  readonly kind: 'dataset' | 'capability';
}

export interface RequestContext {
  /** A live agreement covers this consumer and this resource (checked before asking). */
  readonly agreement: boolean;
  /** The ceiling of the exchange grant, when the call was forwarded under one. */
  readonly grantMaxClassification?: Classification;
}

export interface PolicyRequest {
  readonly subject: SubjectAttributes;
  readonly object: ObjectAttributes;
  readonly action: PolicyAction;
  /** The declared purpose; empty when none was declared. */
  readonly purpose: string;
  readonly context: RequestContext;
}

/** A superset of the interim policy's `Decision`, so either can stand in for the other. */
export interface PolicyDecision {
  readonly allowed: boolean;
  /** Why it was denied; absent when allowed. */
  readonly code?: ErrorCode;
  /** The id of the rule that decided, or `default-deny`. */
  readonly rule: string;
  readonly reason: string;
  /** sha256 of the model and every file of the set (see `policyVersionOf`). */
  readonly policyVersion: string;
}

export const DEFAULT_DENY = 'default-deny';
