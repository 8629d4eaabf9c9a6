import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { fromServiceError } from '../../common/errors/grpc.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import { formatTrustDomain } from '../../common/ids/index.js';
import { AuditServiceClient } from '../../proto/gen/citymesh/v1/audit_service.js';
import { CapabilityServiceClient } from '../../proto/gen/citymesh/v1/capability_service.js';
import { CatalogServiceClient } from '../../proto/gen/citymesh/v1/catalog_service.js';
import { DatasetServiceClient } from '../../proto/gen/citymesh/v1/dataset_service.js';
import { DeviceServiceClient } from '../../proto/gen/citymesh/v1/device_service.js';
import { NodeServiceClient } from '../../proto/gen/citymesh/v1/node_service.js';
import { PolicyServiceClient } from '../../proto/gen/citymesh/v1/policy_service.js';
import { APP_FILES, type AppInfo } from './app-credentials.js';

/** An app's clients to its home node, over mTLS with the app's SVID. */
export interface AppClients {
  readonly info: AppInfo;
  readonly datasets: DatasetServiceClient;
  readonly catalog: CatalogServiceClient;
  readonly capabilities: CapabilityServiceClient;
  readonly node: NodeServiceClient;
  readonly audit: AuditServiceClient;
  readonly policy: PolicyServiceClient;
  readonly devices: DeviceServiceClient;
  close(): void;
}

/**
 * Connects an app (its credentials folder from `citymesh apps add`) to its home node.
 * The server must present a node SVID of the app's own city, chaining to the cluster root.
 */
export function connectApp(credentialsDir: string, endpoint?: string): AppClients {
  const read = (name: string) => {
    try {
      return readFileSync(join(credentialsDir, name));
    } catch (cause) {
      throw new MeshError(
        'INVALID_CONFIG',
        `${credentialsDir} holds no app credentials (${name}); run \`citymesh apps add\``,
        {
          details: { field: 'app' },
          cause,
        },
      );
    }
  };
  const info = JSON.parse(read(APP_FILES.info).toString('utf8')) as AppInfo;
  const nodePrefix = `spiffe://${formatTrustDomain(info.cluster, info.city)}/node/`;
  const credentials = grpc.credentials.createSsl(read(APP_FILES.bundle), read(APP_FILES.key), read(APP_FILES.cert), {
    checkServerIdentity: (_host, cert) => {
      const uris = (cert.subjectaltname ?? '').split(', ').filter((s) => s.startsWith('URI:'));
      return uris.length === 1 && uris[0]!.slice(4).startsWith(nodePrefix)
        ? undefined
        : new MeshError('PEER_IDENTITY_MISMATCH', `the server is not a node of ${info.city}: ${uris.join(' ')}`, {});
    },
  });
  const target = endpoint ?? info.nodeEndpoint;
  const channel = new grpc.Channel(target, credentials, {});
  const options = { channelOverride: channel };
  return {
    info,
    datasets: new DatasetServiceClient(target, credentials, options),
    catalog: new CatalogServiceClient(target, credentials, options),
    capabilities: new CapabilityServiceClient(target, credentials, options),
    node: new NodeServiceClient(target, credentials, options),
    audit: new AuditServiceClient(target, credentials, options),
    policy: new PolicyServiceClient(target, credentials, options),
    devices: new DeviceServiceClient(target, credentials, options),
    close: () => channel.close(),
  };
}

/** A grpc-js callback call as a promise; a refusal becomes the MeshError its reason names. */
export function unaryCall<Res>(
  invoke: (callback: (err: grpc.ServiceError | null, res: Res) => void) => void,
): Promise<Res> {
  return new Promise((resolve, reject) => invoke((err, res) => (err ? reject(fromServiceError(err)) : resolve(res))));
}
