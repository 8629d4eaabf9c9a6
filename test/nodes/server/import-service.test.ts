import type * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromServiceError } from '../../../common/errors/grpc.js';
import type { AppClients } from '../../../nodes/index.js';
import { ImportFormat } from '../../../proto/gen/citymesh/v1/common.js';
import type { ImportRecordsRequest, ImportRecordsResponse } from '../../../proto/gen/citymesh/v1/dataset_service.js';
import { ErrorReason } from '../../../proto/gen/citymesh/v1/errors.js';
import { outcomeOf as codeOf, startTestCluster, type TestCluster, testEntry } from './cluster-fixture.js';

const STOPS = 'jjj/beijing/transport-bureau/bus-stops';
const SCHEMA = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string', minLength: 1 }, riders: { type: 'integer' } },
  required: ['id', 'name'],
  additionalProperties: false,
};

type Message = Partial<ImportRecordsRequest> & { lines: string[] };

/** Sends the messages as one client stream; resolves with the response or the refusal's MeshError. */
function importLines(app: AppClients, messages: readonly Message[]): Promise<ImportRecordsResponse> {
  return new Promise((resolve, reject) => {
    const stream = app.datasets.importRecords((err: grpc.ServiceError | null, res: ImportRecordsResponse) =>
      err ? reject(fromServiceError(err)) : resolve(res),
    );
    messages.forEach((m, i) => {
      const last = i === messages.length - 1;
      stream.write({ datasetId: '', format: ImportFormat.IMPORT_FORMAT_UNSPECIFIED, idField: '', last, ...m });
    });
    stream.end();
  });
}

const ndjson = (datasetId: string, rows: object[]): Message[] => [
  { datasetId, format: ImportFormat.IMPORT_FORMAT_NDJSON, lines: rows.map((r) => JSON.stringify(r)) },
];

let cluster: TestCluster;
let office: AppClients;
const beijing = () => cluster.cities.beijing!.node.context.stores;

beforeAll(async () => {
  cluster = await startTestCluster(['beijing']);
  await beijing().catalog.put(testEntry('beijing', 'bus-stops', { schema: SCHEMA }));
  office = await cluster.app('beijing', 'data-office', { roles: ['data-office'] });
});

afterAll(() => cluster?.stop());

describe('DatasetService/ImportRecords over mTLS', () => {
  it('imports a good file with counts, audits it, and counts a re-sent file unchanged', async () => {
    const rows = [
      { id: 's1', name: 'Xidan', riders: 120 },
      { id: 's2', name: 'Wangfujing', riders: 80 },
      { id: 's3', name: 'Qianmen' },
    ];
    const res = await importLines(office, ndjson(STOPS, rows));
    expect(res).toMatchObject({ linesRead: 3, accepted: 3, unchanged: 0, rejected: 0, badLines: [], highSequence: 3 });
    expect(await beijing().records.count(STOPS)).toBe(3);

    const entries = await beijing().audit.range(1, 1000);
    const imported = entries.filter((e) => e.kind === 'dataset.imported');
    expect(imported).toHaveLength(1);
    expect(imported[0]!.actor).toBe('spiffe://beijing.jjj.citymesh/app/data-office');
    expect(JSON.parse(imported[0]!.payload)).toMatchObject({ datasetId: STOPS, accepted: 3, rejected: 0, rows: 3 });

    const again = await importLines(office, ndjson(STOPS, rows));
    expect(again).toMatchObject({ accepted: 0, unchanged: 3, rejected: 0, highSequence: 3 });
  });

  it('writes nothing when one row is bad, reporting its line (numbered across messages) and reason', async () => {
    const before = await beijing().records.count(STOPS);
    const res = await importLines(office, [
      { datasetId: STOPS, format: ImportFormat.IMPORT_FORMAT_CSV, lines: ['id,name,riders', 'c1,Dongdan,5'] },
      { lines: ['c2,Chongwenmen,many', 'c3,Tiantan,7'] },
    ]);
    expect(res).toMatchObject({ linesRead: 4, accepted: 0, rejected: 1, highSequence: before });
    expect(res.badLines).toHaveLength(1);
    expect(res.badLines[0]).toMatchObject({ line: 3, reason: ErrorReason.ERROR_REASON_SCHEMA_VIOLATION });
    expect(res.badLines[0]!.message).toMatch(/riders/);
    expect(await beijing().records.count(STOPS)).toBe(before);
    const entries = await beijing().audit.range(1, 1000);
    const rejected = entries.filter((e) => e.kind === 'dataset.import_rejected');
    expect(JSON.parse(rejected.at(-1)!.payload)).toMatchObject({ accepted: 0, rejected: 1, linesRead: 4 });
  });

  it('refuses a later message naming another dataset, writing nothing', async () => {
    const before = await beijing().records.count(STOPS);
    const code = await codeOf(
      importLines(office, [
        ...ndjson(STOPS, [{ id: 'x1', name: 'A' }]),
        { datasetId: 'jjj/beijing/transport-bureau/other', lines: [JSON.stringify({ id: 'x2', name: 'B' })] },
      ]),
    );
    expect(code).toBe('MALFORMED_REQUEST');
    expect(await beijing().records.count(STOPS)).toBe(before);
  });

  it('refuses an app without the data-office role', async () => {
    const planner = await cluster.app('beijing', 'route-planner', { roles: ['auditor'] });
    expect(await codeOf(importLines(planner, ndjson(STOPS, [{ id: 'p1', name: 'P' }])))).toBe('ROLE_REQUIRED');
  });

  it("refuses to import into another city's dataset", async () => {
    const foreign = 'jjj/tianjin/transport-bureau/bus-stops';
    expect(await codeOf(importLines(office, ndjson(foreign, [{ id: 't1', name: 'T' }])))).toBe('ROLE_REQUIRED');
  });

  it('writes nothing from a stream the client cancels', async () => {
    const before = await beijing().records.count(STOPS);
    const outcome = new Promise<string>((resolve) => {
      const stream = office.datasets.importRecords((err: grpc.ServiceError | null) => resolve(err ? 'failed' : 'ok'));
      stream.write({
        datasetId: STOPS,
        format: ImportFormat.IMPORT_FORMAT_NDJSON,
        idField: '',
        lines: [JSON.stringify({ id: 'k1', name: 'Cancelled' })],
        last: false,
      });
      setTimeout(() => stream.cancel(), 100);
    });
    expect(await outcome).toBe('failed');
    await new Promise((r) => setTimeout(r, 300));
    expect(await beijing().records.count(STOPS)).toBe(before);
  });

  it('writes nothing from a stream that ends without its last message, and refuses a message after it', async () => {
    const before = await beijing().records.count(STOPS);
    const rows = ndjson(STOPS, [{ id: 'h1', name: 'Half' }]);
    const unfinished = new Promise<string | undefined>((resolve) => {
      const stream = office.datasets.importRecords((err: grpc.ServiceError | null) =>
        resolve(err ? fromServiceError(err).code : undefined),
      );
      stream.write({
        idField: '',
        last: false,
        ...rows[0]!,
        format: ImportFormat.IMPORT_FORMAT_NDJSON,
        datasetId: STOPS,
      });
      stream.end();
    });
    expect(await unfinished).toBe('MALFORMED_REQUEST');
    const afterLast: Message[] = [{ ...rows[0]!, last: true }, { lines: [JSON.stringify({ id: 'h2', name: 'Late' })] }];
    expect(await codeOf(importLines(office, afterLast))).toBe('MALFORMED_REQUEST');
    expect(await beijing().records.count(STOPS)).toBe(before);
  });
});
