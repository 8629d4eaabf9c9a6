import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
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

/**
 * Adds gRPC server reflection (v1 and v1alpha) over citymesh's own schemas, so generic
 * tools (grpcurl, Postman) can list and call the services without a copy of the protos.
 */
export function addReflection(server: grpc.Server): void {
  const root = protoRoot();
  const definition = loadSync(SERVICE_FILES.concat('grpc/health/v1/health.proto'), {
    includeDirs: [root],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  new ReflectionService(definition).addToServer(server);
}
