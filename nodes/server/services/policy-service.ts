import { MeshError } from '../../../common/errors/mesh-error.js';
import { INDUSTRIES, parseResourceId } from '../../../common/ids/index.js';
import { requireMessage, requireString } from '../../../common/proto/index.js';
import type { Agreement } from '../../../common/stores/index.js';
import type {
  DecisionInput,
  ExplainDecisionResponse,
  PolicyServiceServer,
} from '../../../proto/gen/citymesh/v1/policy_service.js';
import { isLiveAgreement } from '../../agreements/agreement-rules.js';
import { keyStoreSigner } from '../../audit/index.js';
import { objectOf } from '../../policy/auditor.js';
import { diffSnapshots, whoCan } from '../../policy/engine/index.js';
import type { ExchangeQuestion } from '../../policy/node-policy.js';
import { type Caller, describeCaller } from '../caller.js';
import { CORRELATION_HEADER, type ExchangeDeps } from '../exchange-core.js';
import { unary } from '../handler.js';
import { type AppCaller, hasAppRole, type ProtocolRole } from '../roles.js';
import { issueToken, pageLimit, readToken } from './audit-paging.js';
import { reasonOf } from './audit-proto.js';
import { forwardListGrants, GrantBook, grantsPage } from './policy-grants.js';
import { actionFromProto, entryFromProto, ruleText, selectorsToProto, subjectFromProto } from './policy-proto.js';
import { PolicyQuestions, versionOf } from './policy-questions.js';

const AUDITORS: readonly ProtocolRole[] = ['policy-admin', 'auditor'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Roles come from this node's app registry; a peer node or a visitor never holds one. */
function requireRole(caller: Caller, roles: readonly ProtocolRole[], method: string): AppCaller {
  if (roles.some((role) => hasAppRole(caller, role))) return caller as AppCaller;
  throw new MeshError(
    'ROLE_REQUIRED',
    `${method} needs an app of this city with role ${roles.join(' or ')}; ${describeCaller(caller)} has none`,
    { details: { role: roles.join('|'), method } },
  );
}

/**
 * PolicyService: the city's policy decisions and the auditor's questions about them, and
 * its signed cross-city grants for peers. Who may call what: docs/specs/protocol.md §3.
 */
export function policyService(deps: ExchangeDeps): PolicyServiceServer {
  const { context } = deps;
  const own = { cluster: context.identity.cluster, city: context.identity.city };
  const questions = new PolicyQuestions(deps);
  const book = new GrantBook(keyStoreSigner(context.stores.keys, 'federation'));
  const universe = () => ({
    cities: context.trust.metadata.members.map((m) => m.city),
    industries: INDUSTRIES.map((i) => i.id as string),
  });

  /** The question of a DecisionInput; an agreement id counts only when it names a live agreement of this subject. */
  const questionOf = async (input: DecisionInput | undefined): Promise<ExchangeQuestion & { agreementId: string }> => {
    const i = requireMessage('DecideRequest', 'input', input);
    const subject = subjectFromProto('DecisionInput', 'subject', i.subject);
    const asked = entryFromProto(i.resource, own, undefined);
    const entry = entryFromProto(
      i.resource,
      own,
      await context.stores.catalog.get(asked.id, i.resource?.resourceId.split('@')[1]),
    );
    const action = actionFromProto('DecisionInput', 'action', i.action)!;
    let agreement: Agreement | undefined;
    if (i.agreementId !== '') {
      if (!UUID.test(i.agreementId))
        throw new MeshError('MALFORMED_REQUEST', 'agreement_id must be a lower-case UUID', {
          details: { field: 'agreement_id' },
        });
      const found = await context.stores.agreements.get(i.agreementId);
      if (isLiveAgreement(found, entry.id, subject.city, context.clock.nowMs())) agreement = found;
    }
    return {
      subject,
      entry,
      action,
      purpose: i.purpose,
      agreementId: i.agreementId,
      ...(agreement ? { agreement } : {}),
    };
  };

  return {
    decide: unary(context, 'Decide', async (request, caller, call) => {
      const app = requireRole(caller, AUDITORS, 'Decide');
      const q = await questionOf(request.input);
      const decision = deps.policy.decide(q);
      const correlation = String(call.metadata.get(CORRELATION_HEADER)[0] ?? '');
      const recorded = await deps.audit.append({
        kind: decision.allowed ? 'decision.allowed' : 'decision.denied',
        actor: q.subject.id,
        ...(UUID.test(correlation) ? { correlationId: correlation } : {}),
        payload: {
          method: 'Decide',
          askedBy: app.subject ?? app.spiffeId,
          resource: q.entry.id,
          action: q.action,
          purpose: q.purpose,
          subjectKind: q.subject.kind,
          subjectCity: q.subject.city,
          industry: q.subject.industry,
          level: q.subject.level,
          region: q.subject.region,
          roles: [...q.subject.roles],
          agreement: q.agreement !== undefined,
          ...(q.agreementId === '' ? {} : { agreementId: q.agreementId }),
          rule: decision.rule,
          policyVersion: decision.policyVersion,
          ...(decision.code ? { reason: decision.code } : {}),
        },
      });
      return {
        allowed: decision.allowed,
        reason: decision.code === undefined ? 0 : reasonOf(decision.code),
        policyVersion: decision.policyVersion,
        ruleIds: decision.rule === 'default-deny' ? [] : [decision.rule],
        auditSequence: recorded.sequence,
      };
    }),

    explainDecision: unary(context, 'ExplainDecision', async (request, caller): Promise<ExplainDecisionResponse> => {
      requireRole(caller, AUDITORS, 'ExplainDecision');
      const target = request.target;
      if (target === undefined) {
        throw new MeshError('MALFORMED_REQUEST', 'ExplainDecisionRequest.target: input or audit_sequence is required', {
          details: { field: 'target' },
        });
      }
      if (target.$case === 'input') {
        const q = await questionOf(target.input);
        return questions.explain(await questions.snapshot(versionOf(request.policyVersion)), q);
      }
      return questions.explainRecorded(target.auditSequence, versionOf(request.policyVersion));
    }),

    whoCan: unary(context, 'WhoCan', async (request, caller) => {
      requireRole(caller, [...AUDITORS, 'data-office'], 'WhoCan');
      const resourceId = parseResourceId(
        requireString('WhoCanRequest', 'resource_id', request.resourceId),
        'resource_id',
      );
      if (resourceId.city !== own.city) {
        throw new MeshError(
          'DATASET_NOT_FOUND',
          `${resourceId.id} is not an entry of ${own.city}; ask its own city's node`,
          {
            details: { field: 'resource_id' },
          },
        );
      }
      const action = actionFromProto('WhoCanRequest', 'action', request.action)!;
      const limit = pageLimit('WhoCanRequest', request.pageSize);
      const query = { resourceId: request.resourceId, action, policyVersion: request.policyVersion };
      // The token pins the version of the first page, so pages never mix two versions.
      const [pinned, from] =
        request.pageToken === '' ? [request.policyVersion, 0] : offsetOf(readToken(query, request.pageToken));
      const snapshot = await questions.snapshot(versionOf(pinned));
      const object = await objectOf(context.stores.catalog, resourceId.id);
      const subjects = whoCan(snapshot, object, action).allowed.flatMap((s) =>
        selectorsToProto(s, object.region, universe()),
      );
      const next = from + limit;
      return {
        subjects: subjects.slice(from, next),
        policyVersion: snapshot.version,
        nextPageToken: next < subjects.length ? issueToken(query, `${snapshot.version}:${next}`) : '',
      };
    }),

    whatCan: unary(context, 'WhatCan', async (request, caller) => {
      requireRole(caller, AUDITORS, 'WhatCan');
      return questions.whatCan(request);
    }),

    listPolicyChanges: unary(context, 'ListPolicyChanges', async (request, caller) => {
      requireRole(caller, AUDITORS, 'ListPolicyChanges');
      const since = requireMessage('ListPolicyChangesRequest', 'since', request.since);
      const limit = pageLimit('ListPolicyChangesRequest', request.pageSize);
      const query = { since: since.toISOString() };
      const token = request.pageToken === '' ? undefined : readToken(query, request.pageToken);
      const page = await context.stores.policies.changes(since, {
        pageSize: limit,
        ...(token ? { pageToken: token } : {}),
      });
      return {
        changes: page.items.map((c) => ({
          version: c.version,
          previousVersion: c.previousVersion ?? '',
          changedAt: c.changedAt,
          changedBy: c.changedBy,
          summary: c.summary ?? '',
          rulesAdded: c.rulesAdded,
          rulesRemoved: c.rulesRemoved,
        })),
        nextPageToken: page.nextPageToken === undefined ? '' : issueToken(query, page.nextPageToken),
      };
    }),

    listPolicyVersions: unary(context, 'ListPolicyVersions', async (request, caller) => {
      requireRole(caller, AUDITORS, 'ListPolicyVersions');
      const limit = pageLimit('ListPolicyVersionsRequest', request.pageSize);
      const token = request.pageToken === '' ? undefined : readToken({}, request.pageToken);
      const page = await context.stores.policies.listVersions({
        pageSize: limit,
        ...(token ? { pageToken: token } : {}),
      });
      return {
        versions: page.items.map((v) => ({
          version: v.version,
          digest: v.digest,
          createdAt: v.createdAt,
          createdBy: v.createdBy,
          comment: v.comment ?? '',
          active: v.active,
        })),
        nextPageToken: page.nextPageToken === undefined ? '' : issueToken({}, page.nextPageToken),
      };
    }),

    diffPolicyVersions: unary(context, 'DiffPolicyVersions', async (request, caller) => {
      requireRole(caller, AUDITORS, 'DiffPolicyVersions');
      const from = versionOf(
        requireString('DiffPolicyVersionsRequest', 'from_version', request.fromVersion),
        'from_version',
      );
      const to = versionOf(requireString('DiffPolicyVersionsRequest', 'to_version', request.toVersion), 'to_version');
      const diff = diffSnapshots(await questions.snapshot(from), await questions.snapshot(to));
      return {
        added: diff.changes.flatMap((c) =>
          c.after === undefined ? [] : [{ id: c.after.id, text: ruleText(c.after) }],
        ),
        removed: diff.changes.flatMap((c) =>
          c.before === undefined ? [] : [{ id: c.before.id, text: ruleText(c.before) }],
        ),
        modelChanged: diff.modelChanged,
      };
    }),

    listGrants: unary(context, 'ListGrants', async (request, caller) => {
      if (request.city !== '' && request.city !== own.city) return forwardListGrants(context, request, caller);
      const active = await context.stores.policies.active();
      if (active === undefined) throw new MeshError('POLICY_INVALID', 'no policy version is in force', {});
      const snapshot = await questions.snapshot(active.version);
      return grantsPage(await book.grants(snapshot, active.changedAt, own, universe(), context.clock.nowMs()), request);
    }),
  };
}

/** `<version>:<offset>` from a WhoCan token. */
function offsetOf(position: string): [string, number] {
  const colon = position.lastIndexOf(':');
  const offset = Number(position.slice(colon + 1));
  if (colon < 1 || !Number.isSafeInteger(offset) || offset < 0) {
    throw new MeshError('INVALID_PAGE_TOKEN', 'page_token is not a token this node issued', {
      details: { field: 'page_token' },
    });
  }
  return [position.slice(0, colon), offset];
}
