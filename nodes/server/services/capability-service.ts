import { MeshError } from '../../../common/errors/mesh-error.js';
import { requireString } from '../../../common/proto/index.js';
import {
  type CapabilityServiceServer,
  InvokeCapabilityRequest,
  InvokeCapabilityResponse,
} from '../../../proto/gen/citymesh/v1/capability_service.js';
import type { InvokeBackend } from '../../catalog/index.js';
import { authorizeExchange, type ExchangeDeps, forwardUnary, ownerCity, serveReceipt } from '../exchange-core.js';
import { unary } from '../handler.js';
import { callPeer } from './peer-call.js';

/** The method name every capability answers to until capabilities declare several. */
export const DEFAULT_METHOD = 'invoke';

/** CapabilityService: a city's named services, invoked here or forwarded to the owner. */
export function capabilityService(
  deps: ExchangeDeps,
  invoke: InvokeBackend,
): Pick<CapabilityServiceServer, 'invokeCapability'> {
  const { context } = deps;
  return {
    invokeCapability: unary(context, 'InvokeCapability', async (request: InvokeCapabilityRequest, caller, call) => {
      requireString('InvokeCapabilityRequest', 'capability_id', request.capabilityId, 300);
      if (request.method !== '' && request.method !== DEFAULT_METHOD) {
        throw new MeshError(
          'CAPABILITY_NOT_FOUND',
          `capabilities answer to method "${DEFAULT_METHOD}", not "${request.method}"`,
          {
            details: { field: 'method' },
          },
        );
      }
      const requestJson = InvokeCapabilityRequest.toJSON(request);
      if (caller.kind === 'app' && ownerCity(request.capabilityId) !== context.identity.city) {
        return forwardUnary(
          deps,
          caller,
          {
            resource: request.capabilityId,
            action: 'invoke',
            purpose: request.purpose,
            method: 'InvokeCapability',
            requestJson,
          },
          (peer, metadata) => callPeer(peer.capabilities, peer.capabilities.invokeCapability, request, metadata),
          InvokeCapabilityResponse.toJSON,
        );
      }
      const authorized = await authorizeExchange(deps, call, caller, {
        resource: request.capabilityId,
        action: 'invoke',
        purpose: request.purpose,
        agreementId: request.agreementId,
        method: 'InvokeCapability',
      });
      if (authorized.entry.kind !== 'capability') {
        throw new MeshError('CAPABILITY_NOT_FOUND', `${authorized.entry.id} is a dataset, not a capability`, {
          details: { field: 'capability_id' },
        });
      }
      const input = Buffer.from(request.input).toString('utf8');
      const output = await invoke(request.capabilityId, input === '' ? '{}' : input);
      const response: InvokeCapabilityResponse = { output: Buffer.from(output), receipt: undefined };
      response.receipt = await serveReceipt(
        deps,
        authorized,
        'InvokeCapability',
        requestJson,
        InvokeCapabilityResponse.toJSON(response),
      );
      return response;
    }),
  };
}
