/**
 * The node's tamper-evident audit log: hash-chained entries with group commit, signed
 * checkpoints, exchange receipts, the NDJSON export and the offline verifier behind
 * `citymesh audit verify`. Specification: docs/specs/audit.md.
 *
 * @packageDocumentation
 */
export { type AppendedEntry, type AuditEvent, AuditLog, type AuditLogInit } from './audit-log.js';
export { signCheckpoint, verifyCheckpoint } from './checkpoint.js';
export { type CrossCheckReport, crossCheckExports } from './cross-check.js';
export { canonicalEntry, type HashedEntryFields, hashEntry } from './entry-hash.js';
export {
  type ConsumedExchange,
  EXCHANGE_CONSUMED,
  EXCHANGE_SERVED,
  ExchangeAudit,
  type ExchangeAuditInit,
  type ExchangeFacts,
  RECEIPT_REJECTED,
  type ServedExchange,
} from './exchange-evidence.js';
export {
  AUDIT_EXPORT_FORMAT,
  AUDIT_EXPORT_VERSION,
  type AuditExport,
  type AuditExportHeader,
  parseAuditExport,
} from './export-format.js';
export { auditExportLines, collectAuditExport, type ExportInit, writeAuditExport } from './export-store.js';
export { formatInstant } from './instant.js';
export {
  type ExpectedReceipt,
  type ReceiptClaims,
  signReceipt,
  type VerifiedReceipt,
  type VerifyReceiptOptions,
  verifyReceipt,
} from './receipt.js';
export { type AuditSigner, CHECKPOINT_TYP, keySigner, keyStoreSigner, RECEIPT_TYP } from './signer.js';
export { payloadOf, verifyAuditExport } from './verify-export.js';
export type { AuditProblem, AuditVerifyReport, VerifyAuditOptions } from './verify-report.js';
