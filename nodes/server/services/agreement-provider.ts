import type * as grpc from '@grpc/grpc-js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import type { Agreement } from '../../../common/stores/index.js';
import {
  type RequestAgreementRequest,
  RequestAgreementResponse,
} from '../../../proto/gen/citymesh/v1/agreement_service.js';
import { type AgreementBook, autoApproval, needsAgreement, requestedExpiry } from '../../agreements/index.js';
import type { ExchangeGrantClaims, GrantAction } from '../../exchange/index.js';
import { type Caller, describeCaller } from '../caller.js';
import {
  catalogEntry,
  type ExchangeDeps,
  identifyExchange,
  ownerCity,
  serveReceipt,
  verifyGrantFor,
} from '../exchange-core.js';
import { agreementToProto } from './agreement-proto.js';

/** Roles of this city's apps that see every agreement of the node. */
export const DATA_OFFICE_ROLE = 'data-office';
const AUDITOR_ROLE = 'auditor';

type NodeCaller = Extract<Caller, { kind: 'node' }>;
type AppCaller = Extract<Caller, { kind: 'app' }>;

/** Whether an app of this city may read an agreement: the data office, an auditor, or its consumer. */
export function canSee(caller: AppCaller, agreement: Agreement): boolean {
  const roles = caller.app.roles;
  return (
    roles.includes(DATA_OFFICE_ROLE) || roles.includes(AUDITOR_ROLE) || agreement.consumerSubject === caller.spiffeId
  );
}

/** The data office role, or `ROLE_REQUIRED` naming what it is needed for. */
export function requireDataOffice(caller: Caller, city: string, what: string): AppCaller {
  if (caller.kind !== 'app' || !caller.app.roles.includes(DATA_OFFICE_ROLE)) {
    const who = describeCaller(caller);
    throw new MeshError('ROLE_REQUIRED', `${what} needs the role ${DATA_OFFICE_ROLE} of ${city}; ${who} lacks it`, {
      details: { role: DATA_OFFICE_ROLE },
    });
  }
  return caller;
}

export function notFound(id: string, city: string): MeshError {
  return new MeshError('AGREEMENT_NOT_FOUND', `${city} has no agreement ${id} you may see`, { details: { id } });
}

/**
 * Provider side of RequestAgreement: the dataset is this city's and needs an agreement;
 * the request is recorded (REQUESTED) and the auto-approval rule may agree to it at once
 * (`autoApproval`); otherwise it waits for the data office. Answers with a receipt.
 */
export async function provideRequest(
  deps: ExchangeDeps,
  book: AgreementBook,
  call: { metadata: grpc.Metadata },
  caller: Caller,
  request: RequestAgreementRequest,
  requestJson: unknown,
): Promise<RequestAgreementResponse> {
  const { context } = deps;
  const own = context.identity.city;
  const { subject, correlationId } = await identifyExchange(deps, call, caller, {
    resource: request.entryId,
    action: 'read',
    purpose: request.purpose,
  });
  const entry = await catalogEntry(deps, request.entryId);
  if (entry === undefined || ownerCity(entry.id) !== own) {
    throw new MeshError('DATASET_NOT_FOUND', `${request.entryId} is not published by ${own}`, {
      details: { field: 'entry_id' },
    });
  }
  if (!needsAgreement(entry)) {
    throw new MeshError(
      'MALFORMED_REQUEST',
      `${entry.id} is ${entry.classification} and requires no access agreement; fetch it under the grants of ${own}`,
      { details: { field: 'entry_id' } },
    );
  }
  const requested = await book.request(
    {
      datasetId: entry.id,
      consumerCity: subject.city,
      consumerSubject: subject.id,
      purpose: request.purpose,
      expiresAt: requestedExpiry(request.notAfter, context.clock.now()),
      justification: request.justification,
    },
    subject.id,
    { consumerNodeId: subject.consumerNodeId, correlationId },
  );
  const auto = autoApproval(deps.policy, entry, subject, request.purpose, { ...requested, state: 'AGREED' });
  const agreement = auto.approved
    ? await book.approve(requested.id, context.identity.spiffeId, {
        expectedVersion: requested.version,
        extra: { decidedBy: 'policy', rule: auto.rule, policyVersion: auto.policyVersion, correlationId },
      })
    : requested;
  const response: RequestAgreementResponse = { agreement: agreementToProto(context, agreement), receipt: undefined };
  response.receipt = await serveReceipt(
    deps,
    { subject, entry, correlationId, policyVersion: auto.policyVersion, decisionRecorded: Promise.resolve() },
    'RequestAgreement',
    requestJson,
    RequestAgreementResponse.toJSON(response),
  );
  return response;
}

/**
 * A peer node's call about an agreement this city provides: the grant must be for
 * `action` on the agreement's dataset and issued by the consumer's city; to anyone else
 * the agreement does not exist.
 */
export async function peerAgreement(
  deps: ExchangeDeps,
  book: AgreementBook,
  call: { metadata: grpc.Metadata },
  caller: NodeCaller,
  id: string,
  action: GrantAction,
): Promise<{ agreement: Agreement; claims: ExchangeGrantClaims }> {
  const own = deps.context.identity.city;
  const agreement = await book.get(id);
  if (agreement === undefined || agreement.providerCity !== own || agreement.consumerCity !== caller.peer.city) {
    throw notFound(id, own);
  }
  const claims = await verifyGrantFor(deps, call, caller, {
    resource: agreement.datasetId,
    action,
    purpose: agreement.purpose,
  });
  if (claims.city !== agreement.consumerCity) throw notFound(id, own);
  return { agreement, claims };
}
