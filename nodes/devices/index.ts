/**
 * Devices of a city: the industry taxonomy of device types, the registry (register,
 * suspend, resume, revoke, credential rotation) and batch onboarding from NDJSON or CSV
 * manifests. Specifications: docs/specs/device-taxonomy.md, docs/specs/device-identity.md.
 *
 * @packageDocumentation
 */

export * from './auth/index.js';
export {
  CSV_ATTRIBUTE_PREFIX,
  CSV_CREDENTIAL_COLUMNS,
  CSV_REQUIRED_COLUMNS,
  csvEntries,
} from './import/csv-entries.js';
export {
  DEFAULT_IMPORT_BATCH,
  DEFAULT_LISTED_REJECTS,
  type DeviceImportDeps,
  type DeviceImportOptions,
  type DeviceImportProgress,
  type DeviceImportReport,
  type DeviceImportStart,
  importDevices,
  type RejectedLine,
} from './import/device-import.js';
export { type ImportConsoleInit, importConsole } from './import/import-console.js';
export {
  defaultJobId,
  MANIFEST_FORMATS,
  type ManifestFacts,
  type ManifestFormat,
  manifestFormatOf,
  scanManifest,
} from './import/manifest-file.js';
export { type ManifestEntry, ndjsonEntries } from './import/ndjson-entries.js';
export { formatDuration, importRate, progressBar, progressLine } from './import/progress-text.js';
export { openRejectsFile, type RejectsFile } from './import/rejects-file.js';
export {
  csvLineOf,
  SYNTHETIC_CSV_HEADER,
  type SyntheticManifestInit,
  syntheticDevices,
  writeSyntheticManifest,
} from './import/synthetic-manifest.js';
export { CREDENTIAL_FIELDS, CREDENTIAL_ID_PATTERN, parseInstant } from './registry/credential-checks.js';
export {
  cityDeviceChecker,
  DEVICE_FIELDS,
  DeviceChecker,
  type DeviceCheckerInit,
} from './registry/device-checker.js';
export { DeviceFault } from './registry/device-fault.js';
export {
  type DeviceAuditSink,
  type DeviceListFilter,
  DeviceRegistry,
  type DeviceRegistryInit,
} from './registry/device-registry.js';
export { ATTRIBUTE_NAME_PATTERN, MAX_ATTRIBUTE_LENGTH, MAX_ATTRIBUTES } from './registry/field-checks.js';
export { type JwkProblem, jwkThumbprint, publicJwkProblem, publicKeyProblem } from './registry/public-jwk.js';
export {
  attributesFromPairs,
  type CredentialArguments,
  credentialFromArguments,
  DEFAULT_CREDENTIAL_VALIDITY_MS,
} from './registry/registration-input.js';
export * from './taxonomy/index.js';
