import { MeshError } from '../../common/errors/mesh-error.js';
import type { CatalogStore, PolicyStore } from '../../common/stores/index.js';
import {
  diffSnapshots,
  type Explanation,
  explain,
  type ObjectAttributes,
  type PolicyAction,
  type PolicyDiff,
  type WhoCanAnswer,
  whoCan,
} from './engine/index.js';
import { type ExchangeQuestion, type NodePolicy, policyRequest, snapshotOf } from './node-policy.js';

/**
 * What auditors ask of a city's policy, shared by the CLI and the PolicyService: explain a
 * decision, who can use an entry, what changed between versions.
 */

/** The object side of a catalog entry, found by `<id>[@version]` (latest without a version). */
export async function objectOf(catalog: CatalogStore, resourceId: string): Promise<ObjectAttributes> {
  const at = resourceId.indexOf('@');
  const id = at < 0 ? resourceId : resourceId.slice(0, at);
  const entry = await catalog.get(id, at < 0 ? undefined : resourceId.slice(at + 1));
  if (entry === undefined) {
    throw new MeshError('DATASET_NOT_FOUND', `this city publishes no entry ${resourceId}`, {
      details: { field: 'resource_id' },
    });
  }
  return policyRequest({ subject: PROBE, entry, action: 'read', purpose: '' }).object;
}

const PROBE = { kind: 'app', id: '', city: '', industry: '', level: 'national', region: '', roles: [] } as const;

/**
 * Explains an exchange's decision: the protocol's own checks when one of them decided
 * (then no rule was consulted), otherwise every rule of the request's shard.
 */
export function explainQuestion(policy: NodePolicy, q: ExchangeQuestion): Explanation {
  const decision = policy.decide(q);
  const explained = explain(policy.snapshot, policyRequest(q));
  if (decision.rule === explained.decision.rule) return explained;
  return { decision, evaluated: [], rulesInSet: explained.rulesInSet };
}

/** Who may do `action` on an entry of this city, under the version in force (or `version`). */
export async function whoCanUse(
  policy: NodePolicy,
  stores: { catalog: CatalogStore; policies: PolicyStore },
  resourceId: string,
  action: PolicyAction,
  version?: string,
): Promise<WhoCanAnswer> {
  const snapshot =
    version === undefined || version === policy.version ? policy.snapshot : await snapshotOf(stores.policies, version);
  return whoCan(snapshot, await objectOf(stores.catalog, resourceId), action);
}

/** What changed from one stored version to another, in sentences. */
export async function diffVersions(policies: PolicyStore, from: string, to: string): Promise<PolicyDiff> {
  const [a, b] = await Promise.all([snapshotOf(policies, from), snapshotOf(policies, to)]);
  return diffSnapshots(a, b);
}
