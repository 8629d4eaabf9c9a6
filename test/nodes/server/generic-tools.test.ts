import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProto } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_FILES } from '../../../nodes/index.js';
import { startTestCluster, type TestCluster } from './cluster-fixture.js';

/** Clients built from the public .proto files only, as grpcurl or Postman would. */
type GenericClient = grpc.Client & { [method: string]: ((...args: unknown[]) => unknown) | undefined };

/** A method of a generic client, bound, or a failure naming what the service lacks. */
function method<R>(c: GenericClient, name: string): (...args: unknown[]) => R {
  const m = c[name];
  if (typeof m !== 'function') throw new Error(`the client has no method ${name}`);
  return m.bind(c) as (...args: unknown[]) => R;
}

let cluster: TestCluster;
let credentials: grpc.ChannelCredentials;
let endpoint: string;

function client(protoFile: string, includeDir: string, service: string): GenericClient {
  const definition = grpc.loadPackageDefinition(
    loadSync(protoFile, { includeDirs: [includeDir], keepCase: true, enums: String }),
  );
  const Ctor = service.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], definition) as new (
    address: string,
    creds: grpc.ChannelCredentials,
  ) => GenericClient;
  return new Ctor(endpoint, credentials);
}

beforeAll(async () => {
  cluster = await startTestCluster(['beijing', 'tianjin']);
  const app = await cluster.app('beijing', 'tooling');
  endpoint = app.info.nodeEndpoint;
  const read = (f: string) => readFileSync(join(app.dir, f));
  credentials = grpc.credentials.createSsl(read(APP_FILES.bundle), read(APP_FILES.key), read(APP_FILES.cert));
});

afterAll(() => cluster?.stop());

describe('generic gRPC tools against a node', () => {
  it('reports health per service', async () => {
    const health = client(healthProto, dirname(healthProto), 'grpc.health.v1.Health');
    const check = (service: string) =>
      new Promise<{ status: string }>((resolve, reject) =>
        method<void>(health, 'Check')({ service }, (err: unknown, res: { status: string }) =>
          err ? reject(err) : resolve(res),
        ),
      );
    expect((await check('')).status).toBe('SERVING');
    expect((await check('citymesh.v1.DatasetService')).status).toBe('SERVING');
    health.close();
  });

  it('lists its services and describes them through server reflection', async () => {
    const require = createRequire(import.meta.url);
    const reflectionRoot = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto');
    const reflection = client(
      join(reflectionRoot, 'grpc/reflection/v1/reflection.proto'),
      reflectionRoot,
      'grpc.reflection.v1.ServerReflection',
    );
    const ask = (request: object) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const stream = method<grpc.ClientDuplexStream<object, Record<string, unknown>>>(
          reflection,
          'ServerReflectionInfo',
        )();
        stream.on('data', (res) => {
          resolve(res);
          stream.end();
        });
        stream.on('error', reject);
        stream.write(request);
      });
    const listed = (await ask({ list_services: '' })) as { list_services_response: { service: { name: string }[] } };
    const names = listed.list_services_response.service.map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining(['citymesh.v1.DatasetService', 'citymesh.v1.CatalogService', 'grpc.health.v1.Health']),
    );
    const described = (await ask({ file_containing_symbol: 'citymesh.v1.DatasetService' })) as {
      file_descriptor_response: { file_descriptor_proto: Buffer[] };
    };
    expect(described.file_descriptor_response.file_descriptor_proto.length).toBeGreaterThan(0);
    reflection.close();
  });
});
