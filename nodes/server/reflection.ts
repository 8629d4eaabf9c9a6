import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';

const SERVICE_FILES = [
  'agreement_service',
  'audit_service',
  'capability_service',
  'catalog_service',
  'dataset_service',
  'device_service',
  'node_service',
  'policy_service',
  'subscription_service',
  'trust_service',
].map((name) => `citymesh/v1/${name}.proto`);

/** The reflection API versions @grpc/reflection serves; the same method in each. */
const VERSIONS = ['v1', 'v1alpha'] as const;
type Version = (typeof VERSIONS)[number];

const METHOD = 'ServerReflectionInfo';
const pathOf = (version: Version) => `/grpc.reflection.${version}.ServerReflection/${METHOD}`;

/** The `proto/` folder, found from the running file (source under vitest, `dist/` otherwise). */
function protoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'citymesh/v1/common.proto'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('proto/ not found next to the citymesh installation');
}

interface LoadedVersion {
  readonly method: grpc.MethodDefinition<unknown, unknown>;
  readonly handler: grpc.handleBidiStreamingCall<unknown, unknown>;
}

/** The reflection services as @grpc/reflection builds them, by version. */
function loadReflection(root: string): ReadonlyMap<Version, LoadedVersion> {
  const definition = loadSync(SERVICE_FILES.concat('grpc/health/v1/health.proto'), {
    includeDirs: [root],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = new Map<Version, LoadedVersion>();
  const recorder = {
    addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation) {
      const method = service[METHOD] as grpc.MethodDefinition<unknown, unknown>;
      const version = VERSIONS.find((v) => pathOf(v) === method.path);
      if (version === undefined) throw new Error(`unexpected reflection service ${method.path}`);
      loaded.set(version, {
        method,
        handler: implementation[METHOD] as grpc.handleBidiStreamingCall<unknown, unknown>,
      });
    },
  };
  new ReflectionService(definition).addToServer(recorder);
  for (const version of VERSIONS) {
    if (!loaded.has(version)) throw new Error(`@grpc/reflection serves no ${version}`);
  }
  return loaded;
}

/**
 * Adds gRPC server reflection (v1 and v1alpha) over citymesh's own schemas, so generic
 * tools (grpcurl, Postman) can list and call the services without a copy of the protos.
 *
 * The schemas are parsed on the first reflection call, not here: parsing them took about
 * a second of start-up and held 1.2 MB of heap in every node, for a tool few callers use.
 * The method definitions added now only route to them.
 */
export function addReflection(server: grpc.Server): void {
  const root = protoRoot();
  let loaded: ReadonlyMap<Version, LoadedVersion> | undefined;
  const reflection = (version: Version) => {
    loaded ??= loadReflection(root);
    return loaded.get(version) as LoadedVersion;
  };
  for (const version of VERSIONS) {
    const method: grpc.MethodDefinition<unknown, unknown> = {
      path: pathOf(version),
      requestStream: true,
      responseStream: true,
      originalName: 'serverReflectionInfo',
      requestSerialize: (value) => reflection(version).method.requestSerialize(value),
      requestDeserialize: (bytes) => reflection(version).method.requestDeserialize(bytes),
      responseSerialize: (value) => reflection(version).method.responseSerialize(value),
      responseDeserialize: (bytes) => reflection(version).method.responseDeserialize(bytes),
    };
    const handler: grpc.handleBidiStreamingCall<unknown, unknown> = (call) => {
      let served: LoadedVersion;
      try {
        served = reflection(version);
      } catch (err) {
        const details = `server reflection unavailable: ${err instanceof Error ? err.message : String(err)}`;
        call.emit('error', { code: grpc.status.INTERNAL, details });
        return;
      }
      served.handler(call);
    };
    server.addService({ [METHOD]: method }, { [METHOD]: handler });
  }
}
