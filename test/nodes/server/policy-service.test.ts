import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppClients, unaryCall } from '../../../nodes/index.js';
import { explainQuestion } from '../../../nodes/policy/auditor.js';
import { verifyGrantSignature } from '../../../nodes/server/services/policy-grants.js';
import {
  Action,
  AdministrativeLevel,
  Classification,
  EntryKind,
  SubjectKind,
} from '../../../proto/gen/citymesh/v1/common.js';
import type { FetchRecordsResponse } from '../../../proto/gen/citymesh/v1/dataset_service.js';
import { ErrorReason } from '../../../proto/gen/citymesh/v1/errors.js';
import {
  type DecideResponse,
  type DecisionInput,
  type DiffPolicyVersionsResponse,
  type ExplainDecisionRequest,
  type ExplainDecisionResponse,
  type ListGrantsRequest,
  type ListGrantsResponse,
  type ListPolicyChangesResponse,
  type ListPolicyVersionsResponse,
  PolicyServiceClient,
  type WhatCanResponse,
  type WhoCanResponse,
} from '../../../proto/gen/citymesh/v1/policy_service.js';
import { outcomeOf, startTestCluster, type TestCluster, testEntry } from './cluster-fixture.js';

const BUS = 'jjj/beijing/transport-bureau/bus-stops';
const ROADS = 'jjj/beijing/transport-bureau/road-works';
const CAMERAS = 'jjj/beijing/transport-bureau/traffic-cameras';
const PLANNER = 'spiffe://tianjin.jjj.citymesh/app/route-planner';

type Client = PolicyServiceClient;
const call = unaryCall;
const decide = (c: Client, input: DecisionInput) => call<DecideResponse>((cb) => c.decide({ input }, cb));
const explainIt = (c: Client, r: Partial<ExplainDecisionRequest>) =>
  call<ExplainDecisionResponse>((cb) => c.explainDecision({ target: undefined, policyVersion: '', ...r }, cb));
const whoCan = (c: Client, resourceId: string, extra: { policyVersion?: string; pageSize?: number } = {}) =>
  call<WhoCanResponse>((cb) =>
    c.whoCan({ resourceId, action: Action.ACTION_READ, policyVersion: '', pageSize: 0, pageToken: '', ...extra }, cb),
  );
const whatCan = (c: Client, extra: { pageSize?: number; pageToken?: string; purpose?: string } = {}) =>
  call<WhatCanResponse>((cb) =>
    c.whatCan(
      { subject: SUBJECT, action: 0, purpose: '', policyVersion: '', pageSize: 0, pageToken: '', ...extra },
      cb,
    ),
  );
const versions = (c: Client) =>
  call<ListPolicyVersionsResponse>((cb) => c.listPolicyVersions({ pageSize: 0, pageToken: '' }, cb));
const changes = (c: Client) =>
  call<ListPolicyChangesResponse>((cb) => c.listPolicyChanges({ since: new Date(0), pageSize: 0, pageToken: '' }, cb));
const diff = (c: Client, fromVersion: string, toVersion: string) =>
  call<DiffPolicyVersionsResponse>((cb) => c.diffPolicyVersions({ fromVersion, toVersion }, cb));
const grants = (c: Client, r: Partial<ListGrantsRequest> = {}) =>
  call<ListGrantsResponse>((cb) => c.listGrants({ city: '', granteeCity: '', pageSize: 0, pageToken: '', ...r }, cb));

const SUBJECT = {
  subjectId: PLANNER,
  kind: SubjectKind.SUBJECT_KIND_APP,
  cluster: 'jjj',
  city: 'tianjin',
  org: 'traffic-bureau',
  industry: 'transport',
  level: AdministrativeLevel.ADMINISTRATIVE_LEVEL_CITY,
  regionCode: '120000',
  roles: [],
};
const resource = (id: string, classification: Classification) => ({
  resourceId: id,
  kind: EntryKind.ENTRY_KIND_DATASET,
  ownerCluster: 'jjj',
  ownerCity: 'beijing',
  ownerOrg: 'transport-bureau',
  industry: 'transport',
  regionCode: '110000',
  classification,
});
const question = (id: string, classification: Classification): DecisionInput => ({
  subject: SUBJECT,
  resource: resource(id, classification),
  action: Action.ACTION_READ,
  purpose: 'traffic-planning',
  agreementId: '',
});

let cluster: TestCluster;
let auditor: Client;
let admin: Client;
let office: Client;
let plain: Client;
/** An app of Tianjin, asking its own node. */
let visitor: Client;
let planner: AppClients;
/** Tianjin's node calling Beijing's node over mTLS with its own SVID. */
let tianjinNode: Client;
const beijing = () => cluster.cities.beijing!.node.context;

const policyOf = (app: AppClients) => app.policy;

beforeAll(async () => {
  cluster = await startTestCluster(['beijing', 'tianjin']);
  const stores = beijing().stores;
  await stores.catalog.put(testEntry('beijing', 'bus-stops'));
  await stores.catalog.put(testEntry('beijing', 'road-works', { classification: 'internal' }));
  await stores.catalog.put(testEntry('beijing', 'traffic-cameras', { classification: 'sensitive' }));
  await stores.records.appendBatch(CAMERAS, [{ recordId: 'c1', json: '{"camera":1}' }], new Date());
  auditor = policyOf(await cluster.app('beijing', 'city-auditor', { roles: ['auditor'] }));
  admin = policyOf(await cluster.app('beijing', 'policy-office', { roles: ['policy-admin'] }));
  office = policyOf(await cluster.app('beijing', 'data-office', { roles: ['data-office'] }));
  plain = policyOf(await cluster.app('beijing', 'bus-planner'));
  planner = await cluster.app('tianjin', 'route-planner');
  visitor = policyOf(planner);
  const tls = cluster.cities.tianjin!.node.context.tls;
  tianjinNode = new PolicyServiceClient(
    `localhost:${cluster.cities.beijing!.node.port}`,
    grpc.experimental.createCertificateProviderChannelCredentials(tls, tls, { checkServerIdentity: () => undefined }),
  );
}, 60_000);

afterAll(async () => {
  tianjinNode?.close();
  await cluster?.stop();
});

describe('PolicyService callers', () => {
  it('refuses every auditor question to an app without a role, and Decide to a peer node', async () => {
    const refused = [
      decide(plain, question(BUS, Classification.CLASSIFICATION_PUBLIC)),
      explainIt(plain, { target: { $case: 'input', input: question(BUS, Classification.CLASSIFICATION_PUBLIC) } }),
      whoCan(plain, BUS),
      whatCan(plain),
      changes(plain),
      versions(plain),
      diff(plain, beijing().policy.version, beijing().policy.version),
      decide(office, question(BUS, Classification.CLASSIFICATION_PUBLIC)),
      decide(tianjinNode, question(BUS, Classification.CLASSIFICATION_PUBLIC)),
      versions(tianjinNode),
    ];
    for (const p of refused) expect(await outcomeOf(p)).toBe('ROLE_REQUIRED');
    expect(await outcomeOf(whoCan(office, BUS))).toBe('OK');
    expect(await outcomeOf(grants(plain))).toBe('OK');
    expect(await outcomeOf(grants(tianjinNode))).toBe('OK');
    // A peer node gets only the called node's own grants: it asks other cities itself.
    expect(await outcomeOf(grants(tianjinNode, { city: 'tianjin' }))).toBe('PEER_IDENTITY_MISMATCH');
  });
});

describe('Decide and ExplainDecision', () => {
  it('decides as `citymesh policy explain` does and records the decision in the audit log', async () => {
    for (const [id, classification] of [
      [BUS, Classification.CLASSIFICATION_PUBLIC],
      [CAMERAS, Classification.CLASSIFICATION_SENSITIVE],
    ] as const) {
      const answer = await decide(admin, question(id, classification));
      const entry = (await beijing().stores.catalog.get(id))!;
      const cli = explainQuestion(beijing().policy, {
        subject: {
          kind: 'app',
          id: PLANNER,
          city: 'tianjin',
          industry: 'transport',
          level: 'city',
          region: '120000',
          roles: [],
        },
        entry,
        action: 'read',
        purpose: 'traffic-planning',
      });
      expect(answer.allowed).toBe(cli.decision.allowed);
      expect(answer.ruleIds).toEqual([cli.decision.rule]);
      expect(answer.policyVersion).toBe(beijing().policy.version);
      const recorded = (await beijing().stores.audit.get(answer.auditSequence))!;
      expect(recorded.kind).toBe(answer.allowed ? 'decision.allowed' : 'decision.denied');
      expect(JSON.parse(recorded.payload)).toMatchObject({ method: 'Decide', resource: id, rule: cli.decision.rule });
    }
    // An agreement id that names no live agreement of this subject counts as none.
    const unknownAgreement = { ...question(CAMERAS, Classification.CLASSIFICATION_SENSITIVE) };
    unknownAgreement.agreementId = '00000000-0000-4000-8000-000000000000';
    const denied = await decide(auditor, unknownAgreement);
    expect(denied).toMatchObject({ allowed: false, reason: ErrorReason.ERROR_REASON_AGREEMENT_REQUIRED });
    expect(denied.ruleIds).toEqual(['sensitive-needs-agreement']);
  });

  it('refuses bad questions naming the field', async () => {
    const other = { ...question(BUS, Classification.CLASSIFICATION_PUBLIC) };
    other.resource = { ...other.resource!, resourceId: 'jjj/tianjin/transport-bureau/x', ownerCity: 'tianjin' };
    await expect(decide(admin, other)).rejects.toMatchObject({ code: 'MALFORMED_REQUEST' });
    await expect(decide(admin, { ...other, action: Action.ACTION_UNSPECIFIED })).rejects.toMatchObject({
      code: 'MALFORMED_REQUEST',
    });
    expect(await outcomeOf(explainIt(admin, {}))).toBe('MALFORMED_REQUEST');
    expect(await outcomeOf(explainIt(admin, { target: { $case: 'auditSequence', auditSequence: 999_999 } }))).toBe(
      'AUDIT_ENTRY_NOT_FOUND',
    );
    const input = question(BUS, Classification.CLASSIFICATION_PUBLIC);
    expect(await outcomeOf(explainIt(admin, { target: { $case: 'input', input }, policyVersion: 'nope' }))).toBe(
      'POLICY_VERSION_NOT_FOUND',
    );
  });

  it('explains a new question by its rules', async () => {
    const input = question(CAMERAS, Classification.CLASSIFICATION_SENSITIVE);
    const answer = await explainIt(auditor, { target: { $case: 'input', input } });
    expect(answer.allowed).toBe(false);
    const decisive = answer.evaluations.find((e) => e.ruleId === 'sensitive-needs-agreement')!;
    expect(decisive).toMatchObject({ matched: true, unmetConditions: [] });
    expect(decisive.rule).toMatch(/^p, sensitive-needs-agreement, deny, /);
    expect(answer.evaluations.some((e) => !e.matched && e.unmetConditions.length > 0)).toBe(true);
    expect(answer.summary).toContain('sensitive-needs-agreement');
  });

  it("explains a recorded denial of another city's FetchRecords by its audit sequence", async () => {
    const fetched = unaryCall<FetchRecordsResponse>((cb) =>
      planner.datasets.fetchRecords(
        {
          datasetId: CAMERAS,
          purpose: 'traffic-planning',
          afterSequence: 0,
          agreementId: '',
          pageSize: 0,
          pageToken: '',
        },
        cb,
      ),
    );
    expect(await outcomeOf(fetched)).toBe('AGREEMENT_REQUIRED');
    const head = (await beijing().stores.audit.head()).sequence;
    const entries = await beijing().stores.audit.range(1, head);
    const denial = entries.findLast(
      (e) => e.kind === 'decision.denied' && JSON.parse(e.payload).method === 'FetchRecords',
    )!;
    expect(JSON.parse(denial.payload)).toMatchObject({ resource: CAMERAS, subjectCity: 'tianjin' });
    const answer = await explainIt(auditor, { target: { $case: 'auditSequence', auditSequence: denial.sequence } });
    expect(answer.allowed).toBe(false);
    expect(answer.policyVersion).toBe(JSON.parse(denial.payload).policyVersion);
    expect(answer.evaluations.find((e) => e.matched)?.ruleId).toBe('sensitive-needs-agreement');
    expect(answer.summary).toContain('sensitive-needs-agreement');
    expect(answer.summary).not.toContain('The audit entry records');
  });
});

describe('after a cross-city grant', () => {
  let before: string;
  let after: string;

  beforeAll(async () => {
    before = beijing().policy.version;
    await cluster.grant('beijing', {
      city: 'tianjin',
      resource: 'jjj/beijing/transport-bureau/*',
      actions: ['read'],
      maxClassification: 'internal',
    });
    after = beijing().policy.version;
  });

  it('WhoCan lists Tianjin, and not under the version before', async () => {
    expect(after).not.toBe(before);
    const now = await whoCan(office, ROADS);
    expect(now.policyVersion).toBe(after);
    expect(now.subjects).toContainEqual(expect.objectContaining({ ruleId: 'grant-tianjin-1', cities: ['tianjin'] }));
    const then = await whoCan(auditor, ROADS, { policyVersion: before });
    expect(then.policyVersion).toBe(before);
    expect(then.subjects.some((s) => s.cities.includes('tianjin') && s.ruleId.startsWith('grant'))).toBe(false);
    const first = await whoCan(auditor, ROADS, { pageSize: 1 });
    expect(first.subjects).toHaveLength(1);
    expect(first.nextPageToken).not.toBe('');
    expect(await outcomeOf(whoCan(auditor, 'jjj/beijing/transport-bureau/nothing'))).toBe('DATASET_NOT_FOUND');
  });

  it('WhatCan lists the entries the subject may read, in id order', async () => {
    const answer = await whatCan(auditor);
    expect(answer.policyVersion).toBe(after);
    const ids = answer.permissions.map((p) => p.resourceId);
    expect(ids).toEqual([...ids].sort());
    expect(answer.permissions).toContainEqual(
      expect.objectContaining({ resourceId: ROADS, actions: [Action.ACTION_READ], agreementRequired: false }),
    );
    expect(answer.permissions.find((p) => p.resourceId === BUS)?.actions).toContain(Action.ACTION_READ);
    expect(ids).not.toContain(CAMERAS);
    const first = await whatCan(auditor, { pageSize: 1 });
    const second = await whatCan(auditor, { pageSize: 1, pageToken: first.nextPageToken });
    expect([first.permissions[0]?.resourceId, second.permissions[0]?.resourceId]).toEqual([BUS, ROADS]);
  });

  it('ListPolicyVersions, ListPolicyChanges and DiffPolicyVersions show the grant', async () => {
    const listed = await versions(admin);
    // As a set: the two versions may be created within one millisecond, and the listing
    // orders equal creation times by version id, not by insertion.
    expect(new Map(listed.versions.map((v) => [v.version, v.active]))).toEqual(
      new Map([
        [after, true],
        [before, false],
      ]),
    );
    const changed = await changes(auditor);
    expect(changed.changes.at(-1)).toMatchObject({
      version: after,
      previousVersion: before,
      rulesAdded: 1,
      rulesRemoved: 0,
    });
    const d = await diff(auditor, before, after);
    expect(d.removed).toEqual([]);
    expect(d.modelChanged).toBe(false);
    expect(d.added).toEqual([
      {
        id: 'grant-tianjin-1',
        text: 'p, grant-tianjin-1, allow, read, *, tianjin, *, *, *, *, *, *, *, jjj/beijing/transport-bureau/*, <=internal, *, *',
      },
    ]);
    expect(await outcomeOf(diff(auditor, before, 'unknown-version'))).toBe('POLICY_VERSION_NOT_FOUND');
    expect(await outcomeOf(diff(auditor, '', after))).toBe('MALFORMED_REQUEST');
  });

  it("ListGrants through Tianjin's node gives Beijing's grants, signed so that a changed field is refused", async () => {
    const answer = await grants(visitor, { city: 'beijing' });
    const metadata = cluster.cities.tianjin!.node.context.trust.metadata;
    const now = cluster.anchor.clock.now();
    const grant = answer.grants.find((g) => g.id === 'grant-tianjin-1')!;
    expect(grant).toMatchObject({
      grantorCity: 'beijing',
      resources: ['jjj/beijing/transport-bureau/*'],
      actions: [Action.ACTION_READ],
      maxClassification: Classification.CLASSIFICATION_INTERNAL,
      policyVersion: after,
    });
    expect(grant.grantee?.cities).toEqual(['tianjin']);
    expect(grant.notAfter!.getTime() - now.getTime()).toBeGreaterThan(23 * 3600_000);
    // Rules of grants.csv for Beijing's own subjects are not published as cross-city grants.
    expect(answer.grants.map((g) => g.id)).not.toContain('own-restricted-same-industry');
    for (const g of answer.grants) await verifyGrantSignature(g, metadata, { now });
    const later = new Date(grant.notAfter!.getTime() + 1000);
    await expect(verifyGrantSignature(grant, metadata, { now: later })).rejects.toMatchObject({
      code: 'TOKEN_EXPIRED',
    });
    await expect(
      verifyGrantSignature({ ...grant, actions: [Action.ACTION_READ, Action.ACTION_SUBSCRIBE] }, metadata),
    ).rejects.toMatchObject({ code: 'TOKEN_SIGNATURE_INVALID' });
    await expect(verifyGrantSignature({ ...grant, resources: ['jjj/beijing/*'] }, metadata)).rejects.toMatchObject({
      code: 'TOKEN_SIGNATURE_INVALID',
    });
    const forTianjin = await grants(visitor, { city: 'beijing', granteeCity: 'tianjin', pageSize: 1 });
    expect(forTianjin.grants).toHaveLength(1);
    expect(forTianjin.nextPageToken).not.toBe('');
    const direct = await grants(tianjinNode);
    expect(direct.grants.map((g) => g.id)).toEqual(answer.grants.map((g) => g.id));
  });
});
