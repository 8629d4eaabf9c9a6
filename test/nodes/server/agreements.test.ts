import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgreementsCommands } from '../../../cli/commands/agreements.js';
import { run } from '../../../cli/program.js';
import { APP_FILES } from '../../../nodes/apps/app-credentials.js';
import { type AppClients, unaryCall } from '../../../nodes/index.js';
import {
  type Agreement,
  AgreementServiceClient,
  AgreementState,
} from '../../../proto/gen/citymesh/v1/agreement_service.js';
import { Action } from '../../../proto/gen/citymesh/v1/common.js';
import type { FetchRecordsResponse } from '../../../proto/gen/citymesh/v1/dataset_service.js';
import { outcomeOf as codeOf, startTestCluster, type TestCluster, testEntry } from './cluster-fixture.js';

const call = unaryCall;

type App = AppClients & { dir: string; agreements: AgreementServiceClient };

/** The app's AgreementService client to its home node (AppClients has none yet). */
function agreementClient(app: AppClients & { dir: string }): AgreementServiceClient {
  const read = (name: string) => readFileSync(join(app.dir, name));
  const credentials = grpc.credentials.createSsl(read(APP_FILES.bundle), read(APP_FILES.key), read(APP_FILES.cert), {
    checkServerIdentity: () => undefined,
  });
  return new AgreementServiceClient(app.info.nodeEndpoint, credentials);
}

let cluster: TestCluster;
let planner: App; // tianjin, no role
let tjOffice: App; // tianjin data office
let bjOffice: App; // beijing data office
let bjAnalyst: App; // beijing, no role
const HEALTH = 'jjj/beijing/transport-bureau/driver-health'; // sensitive, agreement-bound
const LICENSED = 'jjj/beijing/transport-bureau/timetables'; // public, agreement-bound
const BUS = 'jjj/beijing/transport-bureau/bus-stops'; // public, open

const clock = () => cluster.anchor.clock;
const beijing = () => cluster.cities.beijing!;

async function appOf(city: string, id: string, roles: string[] = []): Promise<App> {
  const app = await cluster.app(city, id, { roles });
  return { ...app, agreements: agreementClient(app) };
}

const request = (app: App, entryId: string, notAfterMs = 30 * 86_400_000) =>
  call<{ agreement?: Agreement; receipt?: { signature: string } }>((cb) =>
    app.agreements.requestAgreement(
      {
        entryId,
        actions: [Action.ACTION_READ],
        purpose: 'driver-safety',
        notAfter: new Date(clock().nowMs() + notAfterMs),
        justification: 'fatigue study',
      },
      cb,
    ),
  );
const get = (app: App, id: string) =>
  call<{ agreement?: Agreement }>((cb) => app.agreements.getAgreement({ id }, cb)).then((r) => r.agreement!);
const list = (app: App) =>
  call<{ agreements: Agreement[] }>((cb) =>
    app.agreements.listAgreements(
      { entryId: '', state: 0, providerCity: '', consumerCity: '', pageSize: 0, pageToken: '' },
      cb,
    ),
  ).then((r) => r.agreements);
const approve = (app: App, id: string, expectedVersion = 0) =>
  call<{ agreement?: Agreement }>((cb) =>
    app.agreements.approveAgreement({ id, expectedVersion, offer: undefined }, cb),
  ).then((r) => r.agreement!);
const reject = (app: App, id: string, reason: string) =>
  call<{ agreement?: Agreement }>((cb) => app.agreements.rejectAgreement({ id, expectedVersion: 0, reason }, cb)).then(
    (r) => r.agreement!,
  );
const terminate = (app: App, id: string, reason: string) =>
  call<{ agreement?: Agreement }>((cb) =>
    app.agreements.terminateAgreement({ id, expectedVersion: 0, reason }, cb),
  ).then((r) => r.agreement!);
const fetch = (app: App, datasetId: string, agreementId = '') =>
  call<FetchRecordsResponse>((cb) =>
    app.datasets.fetchRecords(
      { datasetId, purpose: 'driver-safety', afterSequence: 0, agreementId, pageSize: 0, pageToken: '' },
      cb,
    ),
  );

/** Runs `citymesh agreements ...` against the provider's node folder, on the cluster's clock. */
type CliAgreement = { id: string; state: string; version: number };

async function cli(
  ...args: string[]
): Promise<{ agreement?: CliAgreement; agreements?: CliAgreement[]; expired?: CliAgreement[] }> {
  let out = '';
  const program = new Command('citymesh').exitOverride();
  const io = {
    out: (text: string) => {
      out += text;
    },
    err: () => {},
  };
  registerAgreementsCommands(program, io, clock());
  await program.parseAsync(['agreements', ...args, '--dir', beijing().dir], { from: 'user' });
  return JSON.parse(out);
}

async function auditOf(id: string) {
  const entries = await beijing().node.context.stores.audit.range(1, 100_000);
  return entries
    .filter((e) => e.kind.startsWith('agreement.') && JSON.parse(e.payload).agreementId === id)
    .map((e) => ({ kind: e.kind, actor: e.actor, ...JSON.parse(e.payload) }));
}

beforeAll(async () => {
  cluster = await startTestCluster(['beijing', 'tianjin']);
  const stores = beijing().node.context.stores;
  await stores.catalog.put(
    testEntry('beijing', 'driver-health', { classification: 'sensitive', requiresAgreement: true }),
  );
  await stores.catalog.put(testEntry('beijing', 'timetables', { requiresAgreement: true }));
  await stores.catalog.put(testEntry('beijing', 'bus-stops'));
  await stores.records.appendBatch(HEALTH, [{ json: '{"driver":1,"hours":9}' }], new Date());
  await stores.records.appendBatch(LICENSED, [{ json: '{"line":1}' }], new Date());
  // Beijing's grants let tianjin read the sensitive dataset, but only under an agreement.
  await cluster.grant('beijing', {
    city: 'tianjin',
    resource: HEALTH,
    actions: ['read'],
    maxClassification: 'sensitive',
  });
  planner = await appOf('tianjin', 'route-planner');
  tjOffice = await appOf('tianjin', 'tj-office', ['data-office']);
  bjOffice = await appOf('beijing', 'bj-office', ['data-office']);
  bjAnalyst = await appOf('beijing', 'bj-analyst');
});

afterAll(async () => {
  for (const app of [planner, tjOffice, bjOffice, bjAnalyst]) app?.agreements.close();
  await cluster?.stop();
});

describe('access agreements across cities', () => {
  it('refuses a request for a dataset that needs no agreement, or for another action than READ', async () => {
    expect(await codeOf(request(planner, BUS))).toBe('MALFORMED_REQUEST');
    const invoke = call((cb) =>
      planner.agreements.requestAgreement(
        { entryId: HEALTH, actions: [Action.ACTION_INVOKE], purpose: 'x', notAfter: new Date(), justification: '' },
        cb,
      ),
    );
    expect(await codeOf(invoke)).toBe('MALFORMED_REQUEST');
  });

  it('agrees at once when the grants already cover the consumer (public data), with a receipt', async () => {
    expect(await codeOf(fetch(planner, LICENSED))).toBe('AGREEMENT_REQUIRED');
    const res = await request(planner, LICENSED);
    const agreement = res.agreement!;
    expect(agreement.state).toBe(AgreementState.AGREEMENT_STATE_AGREED);
    expect(agreement.consumer?.city).toBe('tianjin');
    expect(agreement.providerNodeId).toBe('spiffe://beijing.jjj.citymesh/node/n1');
    expect(res.receipt?.signature).not.toBe('');
    expect((await fetch(planner, LICENSED, agreement.id)).records).toHaveLength(1);
    const audit = await auditOf(agreement.id);
    expect(audit.map((e) => e.kind)).toEqual(['agreement.requested', 'agreement.agreed']);
    expect(audit[1]).toMatchObject({ decidedBy: 'policy', from: 'REQUESTED', dataset: LICENSED });
  });

  it('leaves sensitive data pending for the data office; the CLI approves and the fetch is served', async () => {
    const pending = (await request(planner, HEALTH)).agreement!;
    expect(pending.state).toBe(AgreementState.AGREEMENT_STATE_REQUESTED);
    expect(await codeOf(fetch(planner, HEALTH, pending.id))).toBe('AGREEMENT_REQUIRED');
    // The consumer's home node lists its copy.
    expect((await list(planner)).map((a) => [a.id, a.state])).toContainEqual([
      pending.id,
      AgreementState.AGREEMENT_STATE_REQUESTED,
    ]);
    // Only beijing's data office may approve.
    expect(await codeOf(approve(planner, pending.id))).toBe('ROLE_REQUIRED');
    expect(await codeOf(approve(tjOffice, pending.id))).toBe('ROLE_REQUIRED');
    expect(await codeOf(approve(bjAnalyst, pending.id))).toBe('ROLE_REQUIRED');
    expect((await cli('list', '--state', 'requested')).agreements).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: pending.id })]),
    );
    await expect(cli('approve', pending.id, '--expected-version', '7')).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
    });
    const approved = await cli('approve', pending.id, '--expires-in', '7');
    expect(approved.agreement).toMatchObject({ state: 'AGREED', version: 2 });

    // The CLI appended to the running node's audit chain; the node's next append is
    // rebuilt on the moved head, so the first call after the approval is served.
    const res = await fetch(planner, HEALTH, pending.id);
    expect(JSON.parse(res.records[0]!.json.toString())).toEqual({ driver: 1, hours: 9 });
    // Home sees the provider's current state and version.
    const seen = (await list(planner)).find((a) => a.id === pending.id)!;
    expect([seen.state, seen.version]).toEqual([AgreementState.AGREEMENT_STATE_AGREED, 2]);
    expect(await codeOf(cli('approve', pending.id))).toBe('AGREEMENT_STATE_INVALID');

    // Another city's app can neither use it nor see it.
    expect(await codeOf(fetch(bjAnalyst, HEALTH, pending.id))).toBe('AGREEMENT_REQUIRED');
    expect(await codeOf(get(bjAnalyst, pending.id))).toBe('AGREEMENT_NOT_FOUND');

    // Either side's data office ends it; the consumer's goes through its home node.
    expect(await codeOf(terminate(planner, pending.id, 'done'))).toBe('ROLE_REQUIRED');
    const ended = await terminate(tjOffice, pending.id, 'study finished');
    expect([ended.state, ended.stateReason]).toEqual([AgreementState.AGREEMENT_STATE_TERMINATED, 'study finished']);
    expect(await codeOf(fetch(planner, HEALTH, pending.id))).toBe('AGREEMENT_REQUIRED');
    expect((await get(planner, pending.id)).state).toBe(AgreementState.AGREEMENT_STATE_TERMINATED);

    const audit = await auditOf(pending.id);
    expect(audit.map((e) => e.kind)).toEqual(['agreement.requested', 'agreement.agreed', 'agreement.terminated']);
    expect(audit[0]).toMatchObject({ actor: planner.info.spiffeId, consumerCity: 'tianjin', dataset: HEALTH });
    expect(audit[1]!.actor).toMatch(/^cli:/);
    expect(audit[2]).toMatchObject({ actor: tjOffice.info.spiffeId, reason: 'study finished' });
  });

  it('refuses the data under a rejected request; a rejection needs a reason and happens once', async () => {
    const pending = (await request(planner, HEALTH)).agreement!;
    expect(await codeOf(reject(bjOffice, pending.id, ' '))).toBe('MALFORMED_REQUEST');
    const rejected = await reject(bjOffice, pending.id, 'no legal basis');
    expect([rejected.state, rejected.stateReason]).toEqual([
      AgreementState.AGREEMENT_STATE_TERMINATED,
      'no legal basis',
    ]);
    expect(await codeOf(fetch(planner, HEALTH, pending.id))).toBe('AGREEMENT_REQUIRED');
    expect(await codeOf(reject(bjOffice, pending.id, 'again'))).toBe('AGREEMENT_STATE_INVALID');
    expect(await codeOf(approve(bjOffice, pending.id))).toBe('AGREEMENT_STATE_INVALID');
    const audit = await auditOf(pending.id);
    expect(audit.map((e) => [e.kind, e.actor])).toEqual([
      ['agreement.requested', planner.info.spiffeId],
      ['agreement.rejected', bjOffice.info.spiffeId],
    ]);
  });

  it('the provider terminates through the CLI; later fetches are refused', async () => {
    const pending = (await request(planner, HEALTH)).agreement!;
    await approve(bjOffice, pending.id, pending.version);
    expect((await fetch(planner, HEALTH, pending.id)).records).toHaveLength(1);
    const out = await cli('terminate', pending.id, '--reason', 'breach of terms');
    expect(out.agreement?.state).toBe('TERMINATED');
    expect(await codeOf(fetch(planner, HEALTH, pending.id))).toBe('AGREEMENT_REQUIRED');
  });

  it('refuses the data once the agreement expired, and records the expiry', async () => {
    const pending = (await request(planner, HEALTH, 90_000)).agreement!;
    const waiting = (await request(planner, HEALTH, 60_000)).agreement!;
    const agreed = await approve(bjOffice, pending.id);
    expect(agreed.notAfter?.getTime()).toBe(pending.notAfter?.getTime());
    expect((await fetch(planner, HEALTH, pending.id)).records).toHaveLength(1);
    clock().advance(120_000);
    expect(await codeOf(fetch(planner, HEALTH, pending.id))).toBe('AGREEMENT_REQUIRED');
    expect((await get(planner, pending.id)).state).toBe(AgreementState.AGREEMENT_STATE_EXPIRED);
    expect(await codeOf(terminate(bjOffice, pending.id, 'late'))).toBe('AGREEMENT_STATE_INVALID');
    const audit = await auditOf(pending.id);
    expect(audit.map((e) => [e.kind, e.actor])).toEqual([
      ['agreement.requested', planner.info.spiffeId],
      ['agreement.agreed', bjOffice.info.spiffeId],
      ['agreement.expired', 'system'],
    ]);
    // The CLI sweeps what nobody read since; `citymesh agreements list` is registered.
    expect(await cli('expire')).toEqual({ expired: [expect.objectContaining({ id: waiting.id })] });
    let out = '';
    const io = {
      out: (text: string) => {
        out += text;
      },
      err: () => {},
    };
    const argv = ['node', 'citymesh', 'agreements', 'list', '--dir', beijing().dir, '--state', 'expired'];
    expect(await run(argv, io)).toBe(0);
    expect(JSON.parse(out).agreements.map((a: { id: string }) => a.id)).toEqual(
      expect.arrayContaining([pending.id, waiting.id]),
    );
  });
});
