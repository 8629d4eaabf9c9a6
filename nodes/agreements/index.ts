/**
 * Access agreements, after the Dataspace Protocol's contract negotiation: the provider
 * side's transitions with their audit entries ({@link AgreementBook}), the state rules
 * and the auto-approval rule. Specification: docs/specs/protocol.md, "Access agreements".
 *
 * @packageDocumentation
 */
export {
  AGREEMENT_EVENTS,
  AgreementBook,
  type AgreementBookInit,
  type AgreementRequest,
  SYSTEM_ACTOR,
  type TransitionOptions,
} from './agreement-book.js';
export {
  type AgreementOperation,
  type AutoApproval,
  approvedExpiry,
  autoApproval,
  IN_FORCE_STATES,
  isDue,
  MAX_AGREEMENT_DAYS,
  NEGOTIATING_STATES,
  needsAgreement,
  nextState,
  OPEN_STATES,
  requestedExpiry,
} from './agreement-rules.js';
