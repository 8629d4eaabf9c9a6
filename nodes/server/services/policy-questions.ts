import { MeshError } from '../../../common/errors/mesh-error.js';
import { REGION_LEVELS, type RegionLevel } from '../../../common/ids/index.js';
import type { CatalogEntry } from '../../../common/stores/index.js';
import { SubjectAttributes as ProtoSubject } from '../../../proto/gen/citymesh/v1/common.js';
import type {
  ExplainDecisionResponse,
  Permission,
  WhatCanRequest,
  WhatCanResponse,
} from '../../../proto/gen/citymesh/v1/policy_service.js';
import { explainQuestion } from '../../policy/auditor.js';
import {
  DEFAULT_DENY,
  type Explanation,
  explain,
  POLICY_ACTIONS,
  type PolicyAction,
  type PolicyDecision,
  type PolicySnapshot,
  SUBJECT_KINDS,
  type SubjectAttributes,
} from '../../policy/engine/index.js';
import { decideUnder, type ExchangeQuestion, policyRequest, snapshotOf } from '../../policy/node-policy.js';
import { type ExchangeDeps, subjectKindOf } from '../exchange-core.js';
import { issueToken, pageLimit, readToken } from './audit-paging.js';
import { reasonOf } from './audit-proto.js';
import { ACTION_OF, actionFromProto, evaluationsToProto, homeRegion, subjectFromProto } from './policy-proto.js';

/** Versions read back from the store for auditor questions; parsing a set is not cheap. */
const SNAPSHOTS_KEPT = 8;
const VERSION = /^[A-Za-z0-9._-]{1,64}$/;
/** Stands for "a live agreement exists": the engine only asks whether one does. */
const AGREEMENT_PROBE = { id: 'policy-question', state: 'AGREED' } as never;
/** A declared purpose no rule names: what "any other purpose" is decided as. */
const OTHER_PURPOSE = '\u0000other';

/** An optional version field: empty means the one in force. */
export function versionOf(value: string, field = 'policy_version'): string | undefined {
  if (value === '') return undefined;
  if (!VERSION.test(value)) {
    throw new MeshError('MALFORMED_REQUEST', `${field} must be 1-64 characters of [A-Za-z0-9._-]`, {
      details: { field },
    });
  }
  return value;
}

/** The auditor's questions under any stored version: explain, explain a recorded decision, what-can. */
export class PolicyQuestions {
  readonly #deps: ExchangeDeps;
  readonly #snapshots = new Map<string, Promise<PolicySnapshot>>();

  constructor(deps: ExchangeDeps) {
    this.#deps = deps;
  }

  /** The version in force, or a stored one (kept for the next question). */
  snapshot(version: string | undefined): Promise<PolicySnapshot> {
    const policy = this.#deps.policy;
    if (version === undefined || version === policy.version) return Promise.resolve(policy.snapshot);
    let snapshot = this.#snapshots.get(version);
    if (snapshot === undefined) {
      snapshot = snapshotOf(this.#deps.context.stores.policies, version);
      this.#snapshots.set(version, snapshot);
      snapshot.catch(() => this.#snapshots.delete(version));
      if (this.#snapshots.size > SNAPSHOTS_KEPT) this.#snapshots.delete(this.#snapshots.keys().next().value!);
    }
    return snapshot;
  }

  /** A decision under `snapshot` without touching the node's decision cache. */
  decide(snapshot: PolicySnapshot, q: ExchangeQuestion): PolicyDecision {
    return decideUnder(snapshot, q);
  }

  /** Explains a question; under the version in force exactly as the CLI's `policy explain` does. */
  explain(snapshot: PolicySnapshot, q: ExchangeQuestion): ExplainDecisionResponse {
    return this.#answer(snapshot, this.#explanation(snapshot, q));
  }

  #answer(snapshot: PolicySnapshot, explained: Explanation, note = ''): ExplainDecisionResponse {
    const d = explained.decision;
    const byRule = snapshot.compiled(d.rule) !== undefined || d.rule === DEFAULT_DENY;
    const reason = byRule ? d.reason : `denied by the protocol's own check ${d.rule}, before any rule: ${d.reason}`;
    const counted = `${explained.evaluated.length} of ${explained.rulesInSet} rules could apply`;
    return {
      allowed: d.allowed,
      reason: d.code === undefined ? 0 : reasonOf(d.code),
      policyVersion: d.policyVersion,
      evaluations: evaluationsToProto(explained, (id) => snapshot.compiled(id)?.rule),
      summary: `${reason[0]!.toUpperCase()}${reason.slice(1)} (${counted}).${note}`,
    };
  }

  #explanation(snapshot: PolicySnapshot, q: ExchangeQuestion): Explanation {
    if (snapshot === this.#deps.policy.snapshot) return explainQuestion(this.#deps.policy, q);
    const decision = this.decide(snapshot, q);
    const explained = explain(snapshot, policyRequest(q));
    return decision.rule === explained.decision.rule
      ? explained
      : { decision, evaluated: [], rulesInSet: explained.rulesInSet };
  }

  /**
   * Re-evaluates a recorded decision under the version it records (or `version`). The
   * entry keeps the subject's city, industry and level; exchange entries keep no region,
   * agreement or grant ceiling, so the city's region and no agreement stand in for them,
   * and the summary says when the outcome then differs from the record.
   */
  async explainRecorded(sequence: number, version: string | undefined): Promise<ExplainDecisionResponse> {
    const { context } = this.#deps;
    const entry = sequence > 0 ? await context.stores.audit.get(sequence) : undefined;
    if (entry === undefined) {
      throw new MeshError('AUDIT_ENTRY_NOT_FOUND', `no audit entry ${sequence} on this node`, {
        details: { field: 'audit_sequence' },
      });
    }
    if (!entry.kind.startsWith('decision.')) {
      throw new MeshError('MALFORMED_REQUEST', `audit entry ${sequence} is ${entry.kind}, not a decision`, {
        details: { field: 'audit_sequence' },
      });
    }
    const p = JSON.parse(entry.payload) as Record<string, unknown>;
    const text = (name: string) => (typeof p[name] === 'string' ? (p[name] as string) : '');
    const published = await context.stores.catalog.get(text('resource'));
    if (published === undefined) {
      throw new MeshError(
        'DATASET_NOT_FOUND',
        `${text('resource')} of audit entry ${sequence} is no longer published`,
        {
          details: { field: 'audit_sequence' },
        },
      );
    }
    const city = text('subjectCity');
    const kind = text('subjectKind');
    const subject: SubjectAttributes = {
      kind: (SUBJECT_KINDS as readonly string[]).includes(kind)
        ? (kind as SubjectAttributes['kind'])
        : subjectKindOf(entry.actor),
      id: entry.actor,
      city,
      industry: text('industry'),
      level: (REGION_LEVELS as readonly string[]).includes(text('level')) ? (text('level') as RegionLevel) : 'city',
      region: text('region') || homeRegion(city),
      roles: Array.isArray(p['roles']) ? p['roles'].filter((r): r is string => typeof r === 'string') : [],
    };
    const action = text('action') as PolicyAction;
    const q: ExchangeQuestion = {
      subject,
      entry: published,
      action: POLICY_ACTIONS.includes(action) ? action : 'read',
      purpose: text('purpose'),
      ...(p['agreement'] === true ? { agreement: AGREEMENT_PROBE } : {}),
    };
    const snapshot = await this.snapshot(version ?? (text('policyVersion') || undefined));
    const explained = this.#explanation(snapshot, q);
    const again = explained.decision;
    const allowed = entry.kind === 'decision.allowed';
    const verdict = (yes: boolean) => (yes ? 'allowed' : 'denied');
    const note =
      again.allowed === allowed && again.rule === text('rule')
        ? ''
        : ` The audit entry records ${verdict(allowed)} by ${text('rule')}; re-evaluated from what it records, ${verdict(again.allowed)} by ${again.rule}.`;
    return this.#answer(snapshot, explained, note);
  }

  /**
   * This city's entries (latest version of each) the subject may use, in id order. Each
   * entry is decided per action under the asked purpose, or, when none is asked, under
   * every purpose the set names plus one it does not ("any"); then again with an
   * agreement. Actions sharing purposes and agreement need are one permission.
   */
  async whatCan(request: WhatCanRequest): Promise<WhatCanResponse> {
    const { context } = this.#deps;
    const subject = subjectFromProto('WhatCanRequest', 'subject', request.subject);
    const only = actionFromProto('WhatCanRequest', 'action', request.action, true);
    const limit = pageLimit('WhatCanRequest', request.pageSize);
    const query = {
      subject: ProtoSubject.toJSON(request.subject!),
      action: request.action,
      purpose: request.purpose,
      policyVersion: request.policyVersion,
    };
    const at =
      request.pageToken === ''
        ? { v: request.policyVersion, s: '', id: '' }
        : positionOf(readToken(query, request.pageToken));
    const snapshot = await this.snapshot(versionOf(at.v));
    const purposes = request.purpose !== '' ? [request.purpose] : [...namedPurposes(snapshot), OTHER_PURPOSE];
    const ask = { subject, snapshot, actions: only === undefined ? POLICY_ACTIONS : [only], purposes };
    const permissions: Permission[] = [];
    let ids = 0;
    let current: CatalogEntry | undefined;
    let token = at.s;
    let next = '';
    const settle = () => {
      const found = current === undefined ? [] : this.#permissions(ask, current);
      permissions.push(...found);
      if (found.length > 0) ids++;
    };
    scan: do {
      const pageStart = token;
      const page = await context.stores.catalog.list(
        { city: context.identity.city },
        { pageSize: 1000, ...(token === '' ? {} : { pageToken: token }) },
      );
      for (const e of page.items) {
        if (at.id !== '' && e.id <= at.id) continue;
        if (current !== undefined && e.id !== current.id) {
          settle();
          // Resume at this store page: the next id's versions start on it.
          if (ids >= limit) {
            next = issueToken(
              query,
              Buffer.from(JSON.stringify({ v: snapshot.version, s: pageStart, id: current.id })).toString('base64url'),
            );
            break scan;
          }
        }
        current = e; // versions come in semver order: the last one seen is the latest
      }
      token = page.nextPageToken ?? '';
    } while (token !== '');
    if (next === '') settle();
    return { permissions, policyVersion: snapshot.version, nextPageToken: next };
  }

  #permissions(
    ask: {
      subject: SubjectAttributes;
      snapshot: PolicySnapshot;
      actions: readonly PolicyAction[];
      purposes: readonly string[];
    },
    entry: CatalogEntry,
  ): Permission[] {
    const groups = new Map<string, Permission>();
    for (const action of ask.actions) {
      const free: string[] = [];
      const bound: string[] = [];
      for (const purpose of ask.purposes) {
        const q = { subject: ask.subject, entry, action, purpose };
        if (this.decide(ask.snapshot, q).allowed) free.push(purpose);
        else if (this.decide(ask.snapshot, { ...q, agreement: AGREEMENT_PROBE }).allowed) bound.push(purpose);
      }
      for (const [allowed, agreementRequired] of [
        [free, false],
        [bound, true],
      ] as const) {
        if (allowed.length === 0) continue;
        const named = allowed.includes(OTHER_PURPOSE) ? [] : allowed;
        const key = `${agreementRequired}|${named.join('|')}`;
        const group = groups.get(key) ?? { resourceId: entry.id, actions: [], purposes: named, agreementRequired };
        group.actions.push(ACTION_OF(action));
        groups.set(key, group);
      }
    }
    return [...groups.values()];
  }
}

/** The purposes a set names in its rules, sorted. */
function namedPurposes(snapshot: PolicySnapshot): string[] {
  const names = new Set<string>();
  for (const rule of snapshot.rules) {
    if (rule.purpose?.kind === 'in' || rule.purpose?.kind === 'not-in')
      for (const v of rule.purpose.values) names.add(v);
  }
  return [...names].sort();
}

function positionOf(position: string): { v: string; s: string; id: string } {
  try {
    const p = JSON.parse(Buffer.from(position, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof p['v'] === 'string' && typeof p['s'] === 'string' && typeof p['id'] === 'string') {
      return { v: p['v'], s: p['s'], id: p['id'] };
    }
  } catch {
    // falls through to the refusal
  }
  throw new MeshError('INVALID_PAGE_TOKEN', 'page_token is not a token this node issued', {
    details: { field: 'page_token' },
  });
}
