/**
 * Store interfaces shared by every component: one per concern, all asynchronous so a
 * PostgreSQL implementation can stand behind them. Implementations live in `stores/`;
 * each passes the compliance suites in `test/compliance/`.
 */

import type { AgreementStore } from './agreement-store.js';

export { AGREEMENT_STATES } from './agreement-store.js';

import type { AnchorStore } from './anchor-store.js';
import type { AuditStore } from './audit-store.js';
import type { CatalogStore } from './catalog-store.js';
import type { DeviceStore } from './device-store.js';
import type { KeyStore } from './key-store.js';
import type { PolicyStore } from './policy-store.js';
import type { RecordStore } from './record-store.js';

export type {
  Agreement,
  AgreementFilter,
  AgreementState,
  AgreementStore,
  AgreementTransition,
  NewAgreement,
  TransitionRequest,
} from './agreement-store.js';
export type {
  AnchorIdentity,
  AnchorMember,
  AnchorNode,
  AnchorStore,
  CaRenewal,
  JoinTokenRecord,
  MetadataVersion,
  Revocation,
} from './anchor-store.js';
export type { AuditCheckpoint, AuditEntry, AuditHead, AuditReceipt, AuditStore } from './audit-store.js';
export { GENESIS_PREV_HASH } from './audit-store.js';
export type { CatalogEntry, CatalogFilter, CatalogStore, Classification } from './catalog-store.js';
export type {
  Device,
  DeviceCredential,
  DeviceFilter,
  DeviceStatus,
  DeviceStore,
  ImportCheckpoint,
  ImportConflict,
  ImportProgress,
  ImportResult,
} from './device-store.js';
export { MAX_DEVICE_CREDENTIALS } from './device-store.js';
export type { JsonObject, JsonValue, PublicJwk } from './json.js';
export type { KeyFilter, KeyPurpose, KeyStatus, KeyStore, StoredKey } from './key-store.js';
export type { PackedDevices } from './packed-devices.js';
export type { Page, PageRequest } from './paging.js';
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './paging.js';
export type {
  PolicyActivation,
  PolicyChange,
  PolicyStore,
  PolicyVersion,
  PolicyVersionSummary,
} from './policy-store.js';
export { MAX_POLICY_SET_BYTES } from './policy-store.js';
export type { DatasetRecord, NewRecord, RecordPage, RecordPageRequest, RecordStore } from './record-store.js';

/** Every store of one node, sharing one database (and its lifetime). */
export type Stores = {
  readonly keys: KeyStore;
  readonly devices: DeviceStore;
  readonly catalog: CatalogStore;
  readonly records: RecordStore;
  readonly audit: AuditStore;
  readonly agreements: AgreementStore;
  /** The city's policy versions and activations. */
  readonly policies: PolicyStore;
  /** Trust-anchor state; empty on city nodes. */
  readonly anchor: AnchorStore;
  /** Closes the database; no store may be used afterwards. */
  close(): Promise<void>;
};
