import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { Agreement, CatalogEntry, Classification, PolicyChange, PolicyStore } from '../../common/stores/index.js';
import {
  buildSnapshot,
  CLASSIFICATION_RANK,
  diffSnapshots,
  type PolicyAction,
  type PolicyDecision,
  PolicyEngine,
  type PolicyRequest,
  type PolicySnapshot,
  type SubjectAttributes,
} from './engine/index.js';
import {
  DEFAULT_SET,
  digestOf,
  filesOf,
  NODE_POLICY_DIR,
  readSetFolder,
  shippedPoliciesDir,
  sourcesOf,
} from './policy-sets.js';

/** What an exchange asks the node's policy. */
export interface ExchangeQuestion {
  readonly subject: SubjectAttributes;
  readonly entry: CatalogEntry;
  readonly action: PolicyAction;
  readonly purpose: string;
  /** The live agreement the call relies on, already checked to be this consumer's. */
  readonly agreement?: Agreement;
  readonly grantMaxClassification?: Classification;
}

/** The outcome of activating a set. */
export interface Activation {
  readonly change: PolicyChange;
  readonly snapshot: PolicySnapshot;
  /** The changes from the previous version, for people; empty for the first. */
  readonly sentences: readonly string[];
}

/** The request the engine decides, from an exchange's question. */
export function policyRequest(q: ExchangeQuestion): PolicyRequest {
  const at = q.entry.id.indexOf('@');
  return {
    subject: q.subject,
    object: {
      ownerCity: q.entry.city,
      id: at < 0 ? q.entry.id : q.entry.id.slice(0, at),
      industry: q.entry.industry,
      region: q.entry.regionCode,
      classification: q.entry.classification,
      kind: q.entry.kind,
    },
    action: q.action,
    purpose: q.purpose,
    context: {
      agreement: q.agreement !== undefined,
      ...(q.grantMaxClassification === undefined ? {} : { grantMaxClassification: q.grantMaxClassification }),
    },
  };
}

/**
 * Validates a set folder and makes it the version in force: stored with its files, then
 * activated against the version the caller saw (so two administrators cannot silently
 * overwrite each other). A set that does not parse or whose samples fail is refused and
 * nothing changes.
 *
 * @throws MeshError `POLICY_INVALID` (file, line), `VERSION_CONFLICT`
 */
export async function activatePolicySet(
  policies: PolicyStore,
  setDir: string,
  by: { subject: string; comment?: string; now: Date },
): Promise<Activation> {
  const sources = readSetFolder(setDir);
  const snapshot = await buildSnapshot(sources);
  const files = filesOf(sources);
  await policies.putVersion({
    version: snapshot.version,
    digest: digestOf(files),
    files,
    createdAt: by.now,
    createdBy: by.subject,
    ...(by.comment === undefined ? {} : { comment: by.comment }),
  });
  const current = await policies.active();
  const previous = current === undefined ? undefined : await snapshotOf(policies, current.version);
  const diff = previous === undefined ? undefined : diffSnapshots(previous, snapshot);
  const count = (kind: 'added' | 'removed') =>
    diff?.changes.filter((c) => c.kind === kind || c.kind === 'changed').length ?? snapshot.rules.length;
  const change = await policies.activate(
    {
      version: snapshot.version,
      changedAt: by.now,
      changedBy: by.subject,
      ...(diff === undefined ? {} : { summary: diff.sentences.join('\n').slice(0, 4000) }),
      rulesAdded: count('added'),
      rulesRemoved: diff === undefined ? 0 : count('removed'),
    },
    current?.version,
  );
  return { change, snapshot, sentences: diff?.sentences ?? [] };
}

/** The snapshot of a stored version. */
export async function snapshotOf(policies: PolicyStore, version: string): Promise<PolicySnapshot> {
  const stored = await policies.getVersion(version);
  if (stored === undefined) {
    throw new MeshError('POLICY_VERSION_NOT_FOUND', `no policy version ${version}`, { details: { version } });
  }
  return buildSnapshot(sourcesOf(stored));
}

/**
 * The node's access policy: the version the store says is in force, decided by the
 * engine. Every process of the city reading the same store follows `refresh`, so an
 * activation reaches them all without a restart.
 */
export class NodePolicy {
  readonly engine = new PolicyEngine();
  readonly #policies: PolicyStore;
  #sequence = 0;

  private constructor(policies: PolicyStore) {
    this.#policies = policies;
  }

  /**
   * The policy in force. A store without any version is given the node folder's set
   * (`<dir>/policy/`) or, when there is none, the shipped cluster default.
   */
  static async open(policies: PolicyStore, dir: string, clock: Clock): Promise<NodePolicy> {
    const policy = new NodePolicy(policies);
    if ((await policies.active()) === undefined) {
      const own = join(dir, NODE_POLICY_DIR);
      const setDir = existsSync(own) ? own : join(shippedPoliciesDir(), 'sets', DEFAULT_SET);
      await activatePolicySet(policies, setDir, {
        subject: 'node',
        comment: `initial set from ${setDir}`,
        now: clock.now(),
      }).catch((err: unknown) => {
        // Another process of the city may have activated one meanwhile: follow it.
        if (!(err instanceof MeshError && err.code === 'VERSION_CONFLICT')) throw err;
      });
    }
    await policy.refresh();
    return policy;
  }

  /** Follows the store: swaps in a newly activated version. Returns true when it changed. */
  async refresh(): Promise<boolean> {
    const active = await this.#policies.active();
    if (active === undefined || active.sequence === this.#sequence) return false;
    const changed = active.version !== this.engine.version;
    if (changed) this.engine.use(await snapshotOf(this.#policies, active.version));
    this.#sequence = active.sequence;
    return changed;
  }

  get version(): string {
    return this.engine.version ?? '';
  }

  get snapshot(): PolicySnapshot {
    const current = this.engine.current;
    if (current === undefined) throw new MeshError('POLICY_INVALID', 'no policy version is in force', {});
    return current;
  }

  /**
   * An exchange's decision: the protocol's own requirements first (see
   * {@link protocolCheck}), then the city's policy set, from the decision cache.
   */
  decide(q: ExchangeQuestion): PolicyDecision {
    return protocolCheck(q, this.version) ?? this.engine.decide(policyRequest(q));
  }
}

/**
 * The protocol's own requirements, which no set can switch off: a declared purpose; the
 * exchange grant's classification ceiling; a live agreement for entries published as
 * needing one. Undefined when they hold and the set decides.
 */
export function protocolCheck(q: ExchangeQuestion, policyVersion: string): PolicyDecision | undefined {
  if (q.purpose.trim() === '') {
    return deny('PURPOSE_REQUIRED', 'purpose-declared', 'every exchange declares a purpose', policyVersion);
  }
  const max = q.grantMaxClassification;
  if (max !== undefined && CLASSIFICATION_RANK[q.entry.classification] > CLASSIFICATION_RANK[max]) {
    // The home city authorised no more than this: nothing the provider allows can widen it.
    return deny(
      'CLASSIFICATION_EXCEEDED',
      'grant-ceiling',
      `${q.entry.id} is ${q.entry.classification}; the exchange grant allows up to ${max}`,
      policyVersion,
    );
  }
  if (q.entry.requiresAgreement && q.agreement === undefined) {
    return deny(
      'AGREEMENT_REQUIRED',
      'entry-requires-agreement',
      `${q.entry.id} is published as served only under a live access agreement`,
      policyVersion,
    );
  }
  return undefined;
}

/** A decision under any version (an older one, for an auditor), without the node's cache. */
export function decideUnder(snapshot: PolicySnapshot, q: ExchangeQuestion): PolicyDecision {
  return protocolCheck(q, snapshot.version) ?? snapshot.decide(policyRequest(q));
}

function deny(code: PolicyDecision['code'], rule: string, reason: string, policyVersion: string): PolicyDecision {
  return { allowed: false, ...(code === undefined ? {} : { code }), rule, reason, policyVersion };
}
