import { MeshError } from '../../../common/errors/mesh-error.js';
import type { Agreement, AgreementState, NewAgreement } from '../../../common/stores/index.js';
import {
  type Agreement as ProtoAgreement,
  AgreementState as ProtoState,
} from '../../../proto/gen/citymesh/v1/agreement_service.js';
import { Action, SubjectKind } from '../../../proto/gen/citymesh/v1/common.js';
import { findMember } from '../../../trust-anchor/index.js';
import type { NodeContext } from '../node-runtime.js';

const TO_PROTO: Record<AgreementState, ProtoState> = {
  REQUESTED: ProtoState.AGREEMENT_STATE_REQUESTED,
  OFFERED: ProtoState.AGREEMENT_STATE_OFFERED,
  ACCEPTED: ProtoState.AGREEMENT_STATE_ACCEPTED,
  AGREED: ProtoState.AGREEMENT_STATE_AGREED,
  VERIFIED: ProtoState.AGREEMENT_STATE_VERIFIED,
  FINALIZED: ProtoState.AGREEMENT_STATE_FINALIZED,
  TERMINATED: ProtoState.AGREEMENT_STATE_TERMINATED,
  EXPIRED: ProtoState.AGREEMENT_STATE_EXPIRED,
};
const FROM_PROTO = new Map<ProtoState, AgreementState>(
  Object.entries(TO_PROTO).map(([name, value]) => [value, name as AgreementState]),
);

/** A proto state as the store's, or `undefined` for UNSPECIFIED; unknown numbers are refused. */
export function stateFromProto(state: ProtoState, field = 'state'): AgreementState | undefined {
  if (state === ProtoState.AGREEMENT_STATE_UNSPECIFIED) return undefined;
  const known = FROM_PROTO.get(state);
  if (known === undefined) {
    throw new MeshError('MALFORMED_REQUEST', `${field} has unknown value ${state}`, { details: { field } });
  }
  return known;
}

function subjectKind(subjectId: string): SubjectKind {
  const path = /^spiffe:\/\/[^/]+\/(app|device|node)\//.exec(subjectId)?.[1];
  if (path === 'app') return SubjectKind.SUBJECT_KIND_APP;
  if (path === 'device') return SubjectKind.SUBJECT_KIND_DEVICE;
  if (path === 'node') return SubjectKind.SUBJECT_KIND_NODE;
  return SubjectKind.SUBJECT_KIND_PERSON;
}

/** The node of a city as the cluster metadata lists it (one node per city); '' when unknown. */
function nodeOf(context: NodeContext, city: string): string {
  if (city === context.identity.city) return context.identity.spiffeId;
  try {
    return findMember(context.trust.metadata, city).nodes[0]?.spiffe_id ?? '';
  } catch {
    return '';
  }
}

/**
 * The wire form of a stored agreement. Agreements cover reading a dataset only (the store
 * keeps no action list), and are not signed yet (`signed_agreement` stays empty).
 * `version` is overridden for a consumer's copy, whose own counter means nothing to the
 * provider (0 = "do not check" when passed back as `expected_version`).
 */
export function agreementToProto(context: NodeContext, a: Agreement, version = a.version): ProtoAgreement {
  return {
    id: a.id,
    entryId: a.datasetId,
    consumer: {
      subjectId: a.consumerSubject,
      kind: subjectKind(a.consumerSubject),
      cluster: context.identity.cluster,
      city: a.consumerCity,
      org: '',
      industry: '',
      level: 0,
      regionCode: '',
      roles: [],
    },
    consumerNodeId: nodeOf(context, a.consumerCity),
    providerNodeId: nodeOf(context, a.providerCity),
    actions: [Action.ACTION_READ],
    purpose: a.purpose,
    notAfter: a.expiresAt,
    state: TO_PROTO[a.state],
    stateReason: a.history.at(-1)?.reason ?? '',
    version,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
    signedAgreement: '',
  };
}

/** The home node's copy of an agreement the provider answered with. */
export function copyOf(
  remote: ProtoAgreement,
  parties: { consumerSubject: string; consumerCity: string; providerCity: string },
): NewAgreement {
  const state = stateFromProto(remote.state, 'agreement.state');
  if (state === undefined || remote.id === '' || remote.createdAt === undefined) {
    throw new MeshError('MALFORMED_REQUEST', 'the provider answered with an incomplete agreement', {
      details: { field: 'agreement' },
    });
  }
  return {
    id: remote.id,
    datasetId: remote.entryId,
    consumerCity: parties.consumerCity,
    consumerSubject: parties.consumerSubject,
    providerCity: parties.providerCity,
    purpose: remote.purpose,
    state,
    createdAt: remote.createdAt,
    ...(remote.notAfter ? { expiresAt: remote.notAfter } : {}),
  };
}
