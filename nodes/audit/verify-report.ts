import type { ErrorCode } from '../../common/errors/registry.js';
import type { JwkSet } from '../../trust-anchor/index.js';

/** One thing that does not hold, with the registry code an error for it would carry. */
export interface AuditProblem {
  readonly code: ErrorCode;
  /** The exact check: `sequence`, `prev-hash`, `hash`, `signature`, `truncated`, ... */
  readonly rule: string;
  readonly message: string;
  readonly sequence?: number;
  readonly correlationId?: string;
}

/** What {@link verifyAuditExport} found about one node's evidence. */
export interface AuditVerifyReport {
  readonly valid: boolean;
  readonly nodeId: string;
  /** `trusted`: the node's keys came from the auditor; `export`: from the export's own header. */
  readonly keySource: 'trusted' | 'export';
  readonly entries: number;
  /** Last sequence up to which the chain links and every hash recomputes (0 when entry 1 fails). */
  readonly verifiedThrough: number;
  readonly checkpoints: { readonly total: number; readonly verified: number; readonly latest?: number };
  /** `unchecked`: consumer-held receipts whose provider's keys were not available. */
  readonly receipts: { readonly total: number; readonly verified: number; readonly unchecked: number };
  /** Entries after the latest verified checkpoint: their removal could not be detected. */
  readonly uncheckpointed: number;
  /** The first entry that fails, and why. */
  readonly firstBroken?: { readonly sequence: number; readonly code: ErrorCode; readonly message: string };
  readonly problems: readonly AuditProblem[];
}

/** Options of the verifiers. */
export interface VerifyAuditOptions {
  /** The verifier's time (receipts issued after it are refused). */
  readonly now: Date;
  /**
   * Keys the auditor trusts, by node SPIFFE id, e.g. from the signed cluster metadata
   * (`members[].federation_jwks`). A node found here is verified with these keys only;
   * otherwise the export's own header keys are used and the report says so.
   */
  readonly trustedKeys?: Readonly<Record<string, JwkSet>>;
  /** Keys of providers whose receipts this node holds, by node id; `trustedKeys` win. */
  readonly peerKeys?: Readonly<Record<string, JwkSet>>;
}
