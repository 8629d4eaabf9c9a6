/**
 * The node's access policy (issue 6): the engine (`engine/`), the city's versioned policy
 * sets in the store, its cross-city grants, and what auditors ask of them.
 *
 * @packageDocumentation
 */
export {
  addGrant,
  type CityGrant,
  ensureWorkingCopy,
  GRANTS_RULE_FILE,
  grantRuleLine,
  grantRules,
} from './city-grants.js';
export { describeRule } from './engine/index.js';
export {
  type Activation,
  activatePolicySet,
  type ExchangeQuestion,
  NodePolicy,
  policyRequest,
  snapshotOf,
} from './node-policy.js';
export {
  DEFAULT_SET,
  NODE_POLICY_DIR,
  readSetFolder,
  shippedModelFile,
  shippedPoliciesDir,
  sourcesOf,
  writeSetFolder,
} from './policy-sets.js';
