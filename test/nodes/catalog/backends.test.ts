import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../common/clock.js';
import { districtsOf } from '../../../common/ids/clusters.js';
import {
  type BackendRecord,
  CapabilityBackends,
  createBackendInvoker,
  invokeBackend,
  parseManifest,
  publishManifest,
} from '../../../nodes/catalog/index.js';
import { importRecords } from '../../../nodes/datasets/index.js';
import { sampleCatalog } from '../../../simulations/samples/index.js';
import { openMemoryStores } from '../../../stores/index.js';
import { tempDir } from './support.js';

const NODE = { cluster: 'jjj', city: 'beijing' };
const stores = openMemoryStores();
const components = { records: stores.records, node: NODE };
const call = (backends: CapabilityBackends, name: string, request: unknown) =>
  invokeBackend(backends, name, JSON.stringify(request), components).then((out) => JSON.parse(out));

describe('built-in capabilities', () => {
  const dir = tempDir();
  const sample = sampleCatalog(NODE.cluster, NODE.city);
  let backends: CapabilityBackends;
  beforeAll(async () => {
    const clock = new ManualClock();
    await publishManifest({ catalog: stores.catalog, clock, dir }, parseManifest(sample.manifest, NODE));
    for (const { id, records } of sample.datasets) {
      const report = await importRecords(
        { catalog: stores.catalog, records: stores.records, clock },
        {
          node: NODE,
          datasetId: id,
          format: 'ndjson',
          source: Readable.from(records.map((r) => `${JSON.stringify(r)}\n`)),
        },
      );
      expect(report.accepted).toBe(records.length);
    }
    backends = CapabilityBackends.load(dir);
  });

  it('region-lookup describes a district of the serving city', async () => {
    const district = districtsOf('beijing')[0];
    if (district === undefined) throw new Error('Beijing districts are bundled');
    const answer = await call(backends, 'jjj/beijing/civil-affairs-bureau/region-lookup', {
      regionCode: district.code,
    });
    expect(answer).toEqual({
      regionCode: district.code,
      level: 'district',
      ancestors: ['110000', '000000'],
      city: { id: 'beijing', cluster: 'jjj', name: '北京', code: '110000' },
      district: { code: district.code, name: district.name },
      inServingCity: true,
    });
    const elsewhere = await call(backends, 'jjj/beijing/civil-affairs-bureau/region-lookup@1.0.0', {
      regionCode: '130100',
    });
    expect(elsewhere).toMatchObject({ level: 'city', inServingCity: false, city: { id: 'shijiazhuang' } });
  });

  it('air-quality-summary summarises the imported hourly readings of one station', async () => {
    const readings = sample.datasets
      .find((d) => d.id.endsWith('/air-quality-hourly'))
      ?.records.filter((r) => r.stationId === 'station-2') as { aqi: number; pm25: number; observedAt: string }[];
    const answer = await call(backends, 'jjj/beijing/ecology-bureau/air-quality-summary', { stationId: 'station-2' });
    expect(answer).toMatchObject({
      dataset: 'jjj/beijing/ecology-bureau/air-quality-hourly',
      readings: readings.length,
      stations: 1,
      aqi: { max: Math.max(...readings.map((r) => r.aqi)) },
      pm25: { max: Math.max(...readings.map((r) => r.pm25)) },
      from: readings.map((r) => r.observedAt).sort()[0],
    });
    const none = await call(backends, 'jjj/beijing/ecology-bureau/air-quality-summary', { stationId: 'nowhere' });
    expect(none).toMatchObject({ readings: 0, category: null });
  });

  it('checks the request before calling the handler', async () => {
    const name = 'jjj/beijing/civil-affairs-bureau/region-lookup';
    await expect(call(backends, name, { regionCode: 110105 })).rejects.toMatchObject({
      code: 'SCHEMA_VIOLATION',
      message: expect.stringContaining('/regionCode: must be string'),
    });
    await expect(invokeBackend(backends, name, '{"regionCode":', components)).rejects.toMatchObject({
      code: 'MALFORMED_REQUEST',
    });
    await expect(
      invokeBackend(backends, name, JSON.stringify({ regionCode: 'x'.repeat(100) }), {
        ...components,
        maxRequestBytes: 64,
      }),
    ).rejects.toMatchObject({ code: 'MALFORMED_REQUEST', message: expect.stringContaining('larger than 64 bytes') });
    await expect(call(backends, 'jjj/beijing/civil-affairs-bureau/nothing', {})).rejects.toMatchObject({
      code: 'CAPABILITY_NOT_FOUND',
    });
    await expect(call(backends, `${name}@9.0.0`, {})).rejects.toMatchObject({ code: 'CAPABILITY_NOT_FOUND' });
  });

  it('an invoker bound to the node folder sees capabilities published after it was made', async () => {
    const fresh = tempDir();
    const invoke = createBackendInvoker({ ...components, dir: fresh });
    const name = 'jjj/beijing/civil-affairs-bureau/region-lookup';
    await expect(invoke(name, '{"regionCode":"110000"}')).rejects.toMatchObject({ code: 'CAPABILITY_NOT_FOUND' });
    backends.save(fresh);
    expect(JSON.parse(await invoke(name, '{"regionCode":"110000"}'))).toMatchObject({ level: 'province' });
  });
});

describe('upstream HTTP capabilities', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        switch (req.url) {
          case '/echo':
            res.setHeader('content-type', 'application/json');
            res.end(
              JSON.stringify({ received: JSON.parse(body), method: req.method, type: req.headers['content-type'] }),
            );
            return;
          case '/slow':
            setTimeout(() => res.end('{}'), 1_000);
            return;
          case '/big':
            // Chunked, no content-length: the cap must hold while streaming.
            res.write(`{"pad":"${'x'.repeat(4096)}`);
            res.end('"}');
            return;
          case '/bad-request':
            res.statusCode = 422;
            res.end('{}');
            return;
          case '/text':
            res.end('not json');
            return;
          default:
            res.statusCode = 503;
            res.end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const upstream = (path: string, limits: Partial<{ timeoutMs: number; maxResponseBytes: number }> = {}) =>
    new CapabilityBackends([
      {
        id: 'jjj/beijing/government-service-center/permit-check',
        version: '1.0.0',
        requestSchema: { type: 'object', properties: { permit: { type: 'string' } }, required: ['permit'] },
        backend: { kind: 'http', url: `${base}${path}`, timeoutMs: 300, maxResponseBytes: 1024, ...limits },
      } satisfies BackendRecord,
    ]);
  const NAME = 'jjj/beijing/government-service-center/permit-check';

  it('POSTs the request as JSON and returns the answer as canonical JSON', async () => {
    const out = await invokeBackend(upstream('/echo'), NAME, '{ "permit" : "P-1" }', components);
    expect(out).toBe('{"method":"POST","received":{"permit":"P-1"},"type":"application/json"}');
  });

  it('gives up after the timeout without naming the internal URL', async () => {
    const err = await invokeBackend(upstream('/slow'), NAME, '{"permit":"P"}', components).catch((e) => e);
    expect(err).toMatchObject({
      code: 'PEER_UNAVAILABLE',
      message: expect.stringContaining('did not answer within 300 ms'),
    });
    expect(err.message).not.toContain(base);
  });

  it('stops reading an answer above the size cap', async () => {
    await expect(invokeBackend(upstream('/big'), NAME, '{"permit":"P"}', components)).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringContaining('larger than 1024 bytes'),
    });
    const roomy = await invokeBackend(upstream('/big', { maxResponseBytes: 8192 }), NAME, '{"permit":"P"}', components);
    expect(JSON.parse(roomy).pad).toHaveLength(4096);
  });

  it('maps upstream failures to reasons', async () => {
    const fail = (path: string) => invokeBackend(upstream(path), NAME, '{"permit":"P"}', components);
    await expect(fail('/down')).rejects.toMatchObject({
      code: 'PEER_UNAVAILABLE',
      message: expect.stringContaining('HTTP 503'),
    });
    await expect(fail('/bad-request')).rejects.toMatchObject({ code: 'MALFORMED_REQUEST' });
    await expect(fail('/text')).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringContaining('not JSON'),
    });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const gone = new CapabilityBackends([
      {
        ...upstream('/').records[0],
        backend: { kind: 'http', url: `http://127.0.0.1:${port}/`, timeoutMs: 500, maxResponseBytes: 10 },
      } as BackendRecord,
    ]);
    await expect(invokeBackend(gone, NAME, '{"permit":"P"}', components)).rejects.toMatchObject({
      code: 'PEER_UNAVAILABLE',
      message: expect.stringContaining('could not be reached'),
    });
  });
});
