import type * as grpc from '@grpc/grpc-js';
import { AgreementServiceService } from '../../proto/gen/citymesh/v1/agreement_service.js';
import { AuditServiceService } from '../../proto/gen/citymesh/v1/audit_service.js';
import { CapabilityServiceService } from '../../proto/gen/citymesh/v1/capability_service.js';
import { CatalogServiceService } from '../../proto/gen/citymesh/v1/catalog_service.js';
import { DatasetServiceService } from '../../proto/gen/citymesh/v1/dataset_service.js';
import { DeviceServiceService } from '../../proto/gen/citymesh/v1/device_service.js';
import { PolicyServiceService } from '../../proto/gen/citymesh/v1/policy_service.js';
import { activeKey, signingKey } from '../../trust-anchor/index.js';
import { AuditLog, ExchangeAudit, keyStoreSigner } from '../audit/index.js';
import { createBackendInvoker } from '../catalog/index.js';
import { federationKeySigner } from '../exchange/index.js';
import type { ExchangeDeps } from './exchange-core.js';
import type { NodeContext } from './node-runtime.js';
import { agreementService } from './services/agreement-service.js';
import { auditService } from './services/audit-service.js';
import { capabilityService } from './services/capability-service.js';
import { catalogService } from './services/catalog-service.js';
import { datasetService } from './services/dataset-service.js';
import { deviceService } from './services/device-service.js';
import { policyService } from './services/policy-service.js';

/** The exchange of a running node: what its services share beyond the node context. */
export interface Exchange extends ExchangeDeps {
  close(): Promise<void>;
}

/** Opens the node's audit log, policy, grant signer and replay cache. */
export async function openExchange(context: NodeContext): Promise<Exchange> {
  const signer = keyStoreSigner(context.stores.keys, 'federation');
  const audit = await AuditLog.open({
    store: context.stores.audit,
    clock: context.clock,
    signer,
    nodeId: context.identity.spiffeId,
    logger: context.log,
  });
  const evidence = new ExchangeAudit({ log: audit, signer, clock: context.clock });
  const federation = await activeKey(context.stores.keys, 'federation');
  return {
    context,
    audit,
    evidence,
    policy: context.policy,
    grants: federationKeySigner(context.identity.spiffeId, signingKey(federation)),
    replay: context.replay,
    close: () => audit.close(),
  };
}

/** Installs catalog, datasets, capabilities, audit, agreements, policy and devices on the server (`startNode`'s installer). */
export async function installExchangeServices(
  server: grpc.Server,
  context: NodeContext,
): Promise<{ close(): Promise<void> }> {
  const exchange = await openExchange(context);
  const invoke = createBackendInvoker({
    dir: context.dir,
    records: context.stores.records,
    node: { cluster: context.identity.cluster, city: context.identity.city },
  });
  server.addService(CatalogServiceService, catalogService(context));
  server.addService(DatasetServiceService, datasetService(exchange));
  server.addService(CapabilityServiceService, capabilityService(exchange, invoke));
  server.addService(AuditServiceService, auditService(exchange));
  server.addService(AgreementServiceService, agreementService(exchange));
  server.addService(PolicyServiceService, policyService(exchange));
  server.addService(DeviceServiceService, deviceService(exchange));
  return exchange;
}
