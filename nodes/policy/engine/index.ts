export { CASBIN_FUNCTIONS, casbinLine, referenceDecide, referenceEnforcer } from './casbin-reference.js';
export { COLUMNS, type Column, RELATIONS, type Relation, type Rule } from './columns.js';
export { type CacheStats, DecisionCache, requestKey } from './decision-cache.js';
export { describeRule } from './describe.js';
export { diffSnapshots, type PolicyDiff, type RuleChange } from './diff.js';
export { type Explanation, explain, type RuleEvaluation } from './explain.js';
export { type LoadOptions, loadPolicySnapshot, MODEL_FILE, readPolicySet, SAMPLES_FILE } from './load.js';
export { formatProblem, type PolicyProblem, parseRuleFiles } from './parse-rules.js';
export { DEFAULT_CACHE_SIZE, PolicyEngine, type PolicyEngineOptions } from './policy-engine.js';
export { regionContains, relationHolds } from './region-match.js';
export { formatSet, type ValueSet } from './selectors.js';
export {
  buildSnapshot,
  PolicySnapshot,
  type PolicySource,
  type PolicySources,
  policyVersionOf,
} from './snapshot.js';
export {
  CLASSIFICATION_RANK,
  CLASSIFICATIONS,
  DEFAULT_DENY,
  type ObjectAttributes,
  POLICY_ACTIONS,
  type PolicyAction,
  type PolicyDecision,
  type PolicyRequest,
  type RequestContext,
  SUBJECT_KINDS,
  type SubjectAttributes,
  type SubjectKind,
} from './types.js';
export { type ObjectSelector, type WhatCanAnswer, whatCan } from './what-can.js';
export { type SubjectSelector, type WhoCanAnswer, whoCan } from './who-can.js';
