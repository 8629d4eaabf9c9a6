import { sameContent } from '../../common/content-key.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import type {
  Agreement,
  AgreementFilter,
  NewAgreement,
  TransitionRequest,
} from '../../common/stores/agreement-store.js';
import { AGREEMENT_STATES } from '../../common/stores/agreement-store.js';
import { clone } from './clone.js';
import { alreadyExists } from './errors.js';
import { optionalDate, optionalText, requireDate, requireInteger, requireOneOf, requireText } from './validate.js';

export { AGREEMENT_STATES };

/** The stored form of a new agreement: version 1, no history yet. */
export function newAgreement(input: NewAgreement): Agreement {
  requireText('id', input.id);
  for (const field of ['datasetId', 'consumerCity', 'consumerSubject', 'providerCity', 'purpose'] as const)
    requireText(field, input[field]);
  requireOneOf('state', input.state, AGREEMENT_STATES);
  requireDate('createdAt', input.createdAt);
  optionalDate('expiresAt', input.expiresAt);
  return clone({ ...input, version: 1, updatedAt: input.createdAt, history: [] });
}

/**
 * What `create` returns when the id is taken: the stored agreement if it is exactly what
 * this create would have made (a retried create), otherwise `ALREADY_EXISTS`.
 */
export function resolveCreateConflict(stored: Agreement, created: Agreement): Agreement {
  if (sameContent(stored, created)) return stored;
  throw alreadyExists(`agreement ${created.id}`, { id: created.id });
}

/**
 * The agreement after a compare-and-set transition. `VERSION_CONFLICT` when
 * `expectedVersion` is not the stored version; state rules are the domain's.
 */
export function applyTransition(agreement: Agreement, request: TransitionRequest): Agreement {
  requireInteger('expectedVersion', request.expectedVersion, 1);
  const to = requireOneOf('to', request.to, AGREEMENT_STATES);
  const at = requireDate('at', request.at);
  const actor = requireText('actor', request.actor);
  const reason = optionalText('reason', request.reason);
  const expiresAt = optionalDate('expiresAt', request.expiresAt);
  if (agreement.version !== request.expectedVersion) {
    throw new MeshError(
      'VERSION_CONFLICT',
      `agreement ${agreement.id} is at version ${agreement.version}, not ${request.expectedVersion}`,
      {
        details: { id: agreement.id, expectedVersion: request.expectedVersion, actualVersion: agreement.version },
      },
    );
  }
  return clone({
    ...agreement,
    state: to,
    version: agreement.version + 1,
    updatedAt: at,
    ...(expiresAt === undefined ? {} : { expiresAt }),
    history: [
      ...agreement.history,
      { from: agreement.state, to, at, actor, ...(reason === undefined ? {} : { reason }) },
    ],
  });
}

export function checkAgreementFilter(filter: AgreementFilter): AgreementFilter {
  if (filter.state !== undefined) requireOneOf('state', filter.state, AGREEMENT_STATES);
  return clone(filter);
}

export function agreementNotFound(id: string): MeshError {
  return new MeshError('AGREEMENT_NOT_FOUND', `no agreement ${id}`, { details: { id } });
}
