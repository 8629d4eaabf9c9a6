import { MeshError } from '../../../common/errors/mesh-error.js';
import { pageSize, requireList, requireMessage, requireString } from '../../../common/proto/index.js';
import type { Agreement } from '../../../common/stores/index.js';
import { MAX_PAGE_SIZE } from '../../../common/stores/index.js';
import {
  type AgreementServiceServer,
  type ListAgreementsRequest,
  RequestAgreementRequest,
} from '../../../proto/gen/citymesh/v1/agreement_service.js';
import { Action } from '../../../proto/gen/citymesh/v1/common.js';
import { AgreementBook } from '../../agreements/index.js';
import type { Caller } from '../caller.js';
import { type ExchangeDeps, ownerCity } from '../exchange-core.js';
import { unary } from '../handler.js';
import { requireLocalApp } from '../roles.js';
import { forwardAbout, forwardRequest, listedCopy } from './agreement-home.js';
import { agreementToProto, stateFromProto } from './agreement-proto.js';
import { canSee, notFound, peerAgreement, provideRequest, requireDataOffice } from './agreement-provider.js';
import { callPeer } from './peer-call.js';

type AppCaller = Extract<Caller, { kind: 'app' }>;

/**
 * AgreementService. An app's call about another city's dataset (or about an agreement
 * its city consumes) is forwarded to the provider; the provider's node decides. Who may
 * do what is in docs/specs/protocol.md, "Access agreements".
 */
export function agreementService(deps: ExchangeDeps): AgreementServiceServer {
  const { context } = deps;
  const own = context.identity.city;
  const book = new AgreementBook({
    store: context.stores.agreements,
    audit: deps.audit,
    clock: context.clock,
    city: own,
  });
  const wire = (a: Agreement) => agreementToProto(context, a);

  /** An agreement row of this node (provided, or a consumer's copy) that this app may see. */
  const visible = async (caller: AppCaller, id: string): Promise<Agreement> => {
    requireString('AgreementRequest', 'id', id, 64);
    const agreement = await book.get(id);
    if (agreement === undefined || !canSee(caller, agreement)) throw notFound(id, own);
    return agreement;
  };

  /** Approve and reject are the provider's data office's alone. */
  const provided = async (caller: Caller, id: string, what: string): Promise<{ office: AppCaller; a: Agreement }> => {
    const office = requireDataOffice(caller, own, what);
    const a = await visible(office, id);
    if (a.providerCity !== own) {
      throw new MeshError(
        'ROLE_REQUIRED',
        `agreement ${id} is provided by ${a.providerCity}; ${what} is for the data office of ${a.providerCity}`,
        { details: { role: 'data-office', city: a.providerCity } },
      );
    }
    return { office, a };
  };

  return {
    requestAgreement: unary(context, 'RequestAgreement', async (request: RequestAgreementRequest, caller, call) => {
      checkRequest(request);
      if (caller.kind === 'app' && ownerCity(request.entryId) !== own) return forwardRequest(deps, caller, request);
      return provideRequest(deps, book, call, caller, request, RequestAgreementRequest.toJSON(request));
    }),

    getAgreement: unary(context, 'GetAgreement', async (request, caller, call) => {
      if (caller.kind === 'node') {
        return { agreement: wire((await peerAgreement(deps, book, call, caller, request.id, 'read')).agreement) };
      }
      const app = requireLocalApp(caller, 'GetAgreement');
      const a = await visible(app, request.id);
      if (a.providerCity === own) return { agreement: wire(a) };
      return forwardAbout(deps, app, a, 'read', (client, metadata) =>
        callPeer(client, client.getAgreement, request, metadata),
      );
    }),

    listAgreements: unary(context, 'ListAgreements', async (request: ListAgreementsRequest, caller) => {
      if (caller.kind !== 'app') {
        throw new MeshError(
          'PEER_IDENTITY_MISMATCH',
          'ListAgreements is for apps of this city; a peer node reads one agreement with GetAgreement',
          { details: { rule: 'apps-only' } },
        );
      }
      const state = stateFromProto(request.state);
      const entryId = request.entryId.split('@')[0] ?? '';
      const page = await book.list(
        {
          ...(entryId ? { datasetId: entryId } : {}),
          ...(state ? { state } : {}),
          ...(request.consumerCity ? { consumerCity: request.consumerCity } : {}),
        },
        {
          pageSize: pageSize('ListAgreementsRequest', Math.min(request.pageSize, MAX_PAGE_SIZE)),
          ...(request.pageToken ? { pageToken: request.pageToken } : {}),
        },
      );
      // Visibility and the provider filter apply within the page, so a page may come back short.
      const agreements = [];
      for (const a of page.items) {
        if (!canSee(caller, a) || (request.providerCity && a.providerCity !== request.providerCity)) continue;
        const shown = a.providerCity === own ? wire(a) : await listedCopy(deps, caller, a);
        if (state === undefined || stateFromProto(shown.state) === state) agreements.push(shown);
      }
      return { agreements, nextPageToken: page.nextPageToken ?? '' };
    }),

    approveAgreement: unary(context, 'ApproveAgreement', async (request, caller) => {
      const { office, a } = await provided(caller, request.id, 'approving an agreement');
      if (request.offer !== undefined) {
        throw new MeshError(
          'NOT_IMPLEMENTED',
          'offering narrower terms is not supported yet; approve as requested or reject with a reason',
          { details: { field: 'offer' } },
        );
      }
      return {
        agreement: wire(await book.approve(a.id, office.spiffeId, { expectedVersion: request.expectedVersion })),
      };
    }),

    rejectAgreement: unary(context, 'RejectAgreement', async (request, caller) => {
      const { office, a } = await provided(caller, request.id, 'rejecting an agreement');
      const options = { expectedVersion: request.expectedVersion, reason: request.reason };
      return { agreement: wire(await book.reject(a.id, office.spiffeId, options)) };
    }),

    terminateAgreement: unary(context, 'TerminateAgreement', async (request, caller, call) => {
      const options = { expectedVersion: request.expectedVersion, reason: request.reason };
      if (caller.kind === 'node') {
        // The consumer's home node vouches that its data office asked (grant action `administer`).
        const { agreement, claims } = await peerAgreement(deps, book, call, caller, request.id, 'administer');
        return { agreement: wire(await book.terminate(agreement.id, claims.sub, options)) };
      }
      const office = requireDataOffice(caller, own, 'terminating an agreement');
      const a = await visible(office, request.id);
      if (a.providerCity === own) return { agreement: wire(await book.terminate(a.id, office.spiffeId, options)) };
      if (request.reason.trim() === '') {
        throw new MeshError('MALFORMED_REQUEST', 'a reason is required to terminate an agreement', {
          details: { field: 'reason' },
        });
      }
      return forwardAbout(deps, office, a, 'administer', (client, metadata) =>
        callPeer(client, client.terminateAgreement, request, metadata),
      );
    }),
  };
}

function checkRequest(request: RequestAgreementRequest): void {
  const type = 'RequestAgreementRequest';
  requireString(type, 'entry_id', request.entryId, 300);
  requireString(type, 'purpose', request.purpose, 256);
  requireList(type, 'actions', request.actions, 8);
  requireMessage(type, 'not_after', request.notAfter);
  if (request.actions.some((a) => a !== Action.ACTION_READ)) {
    // The agreement store keeps no action list: agreements cover reading a dataset only.
    throw new MeshError('MALFORMED_REQUEST', `${type}.actions: agreements cover READ only for now`, {
      details: { field: 'actions' },
    });
  }
  if (request.justification.length > 2000) {
    throw new MeshError('MALFORMED_REQUEST', `${type}.justification: must be at most 2000 characters`, {
      details: { field: 'justification' },
    });
  }
}
