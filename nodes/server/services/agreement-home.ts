import type * as grpc from '@grpc/grpc-js';
import { isMeshError } from '../../../common/errors/index.js';
import type { Agreement } from '../../../common/stores/index.js';
import {
  type AgreementServiceClient,
  type Agreement as ProtoAgreement,
  RequestAgreementRequest,
  RequestAgreementResponse,
} from '../../../proto/gen/citymesh/v1/agreement_service.js';
import type { GrantAction } from '../../exchange/index.js';
import type { Caller } from '../caller.js';
import { acceptReceipt, type ExchangeDeps, forward } from '../exchange-core.js';
import { agreementToProto, copyOf, stateFromProto } from './agreement-proto.js';
import { callPeer } from './peer-call.js';

/**
 * The consumer's home node. It forwards its apps' agreement calls to the provider city's
 * node (exchange grant for the agreement's dataset) and keeps a copy of each agreement
 * its apps requested, in its own agreement store under the same id. The copy routes
 * later calls (the id alone does not say which city provides it) and lets
 * ListAgreements at home show the city's agreements; the provider's row stays the
 * authoritative one, and every answer that passes through home refreshes the copy.
 */

type AppCaller = Extract<Caller, { kind: 'app' }>;

/** Forwards a request to the provider, checks its receipt and keeps the copy. */
export async function forwardRequest(
  deps: ExchangeDeps,
  caller: AppCaller,
  request: RequestAgreementRequest,
): Promise<RequestAgreementResponse> {
  const forwarded = await forward(deps, caller, {
    resource: request.entryId,
    action: 'read',
    purpose: request.purpose,
  });
  const client = forwarded.peer.agreements;
  const response = await callPeer(client, client.requestAgreement, request, forwarded.metadata);
  const bare = RequestAgreementResponse.toJSON({ ...response, receipt: undefined });
  await acceptReceipt(
    deps,
    forwarded,
    caller,
    'RequestAgreement',
    RequestAgreementRequest.toJSON(request),
    bare,
    response.receipt,
  );
  if (response.agreement !== undefined) {
    await deps.context.stores.agreements.create(
      copyOf(response.agreement, {
        consumerSubject: caller.spiffeId,
        consumerCity: deps.context.identity.city,
        providerCity: forwarded.peer.city,
      }),
    );
  }
  return response;
}

/**
 * Calls the provider about an agreement this city consumes, then brings the copy up to
 * the state the provider answered with.
 */
export async function forwardAbout<Res extends { agreement?: ProtoAgreement | undefined }>(
  deps: ExchangeDeps,
  caller: AppCaller,
  copy: Agreement,
  action: GrantAction,
  send: (client: AgreementServiceClient, metadata: grpc.Metadata) => Promise<Res>,
): Promise<Res> {
  const forwarded = await forward(deps, caller, { resource: copy.datasetId, action, purpose: copy.purpose });
  const response = await send(forwarded.peer.agreements, forwarded.metadata);
  if (response.agreement !== undefined) await syncCopy(deps, copy, response.agreement);
  return response;
}

/** Moves the copy to the provider's state; a concurrent sync that came first wins. */
export async function syncCopy(deps: ExchangeDeps, copy: Agreement, remote: ProtoAgreement): Promise<void> {
  const state = stateFromProto(remote.state, 'agreement.state');
  if (state === undefined || state === copy.state) return;
  try {
    await deps.context.stores.agreements.transition(copy.id, {
      expectedVersion: copy.version,
      to: state,
      at: remote.updatedAt ?? deps.context.clock.now(),
      actor: remote.providerNodeId || `city:${copy.providerCity}`,
      ...(remote.stateReason ? { reason: remote.stateReason } : {}),
      ...(remote.notAfter ? { expiresAt: remote.notAfter } : {}),
    });
  } catch (err) {
    if (!isMeshError(err) || err.code !== 'VERSION_CONFLICT') throw err;
  }
}

/**
 * A copy as ListAgreements shows it: an open one is refreshed from the provider; a
 * closed one (or one whose provider does not answer) is shown as last seen, with
 * version 0 because the copy's own counter is not the provider's.
 */
export async function listedCopy(deps: ExchangeDeps, caller: AppCaller, copy: Agreement): Promise<ProtoAgreement> {
  if (copy.state !== 'TERMINATED' && copy.state !== 'EXPIRED') {
    try {
      const response = await forwardAbout(deps, caller, copy, 'read', (client, metadata) =>
        callPeer(client, client.getAgreement, { id: copy.id }, metadata),
      );
      if (response.agreement !== undefined) return response.agreement;
    } catch (err) {
      deps.context.log.warn(
        { event: 'agreement.refresh_failed', id: copy.id, err: err instanceof Error ? err.message : String(err) },
        'listing an agreement copy as last seen',
      );
    }
  }
  return agreementToProto(deps.context, copy, 0);
}
