import { decodeProtectedHeader } from 'jose';
import { canonicalize } from '../../../common/canonical-json.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../../common/errors/registry.js';
import type { AuditCheckpoint, AuditReceipt, AuditEntry as StoredEntry } from '../../../common/stores/audit-store.js';
import {
  type AuditEntry,
  AuditEntryKind,
  type Checkpoint,
  type ExportAuditResponse,
} from '../../../proto/gen/citymesh/v1/audit_service.js';
import type { Receipt } from '../../../proto/gen/citymesh/v1/common.js';
import { ErrorReason } from '../../../proto/gen/citymesh/v1/errors.js';
import type { JwkSet } from '../../../trust-anchor/index.js';
import { type AuditExport, canonicalEntry } from '../../audit/index.js';

/**
 * The proto category of a stored kind (`noun.past_tense`), by its noun. Everything that is
 * neither a decision, an exchange nor a key event is an administrative action.
 */
export function kindCategory(kind: string): AuditEntryKind {
  const noun = kind.slice(0, kind.indexOf('.'));
  if (noun === 'decision') return AuditEntryKind.AUDIT_ENTRY_KIND_DECISION;
  if (noun === 'exchange') return AuditEntryKind.AUDIT_ENTRY_KIND_EXCHANGE;
  if (noun === 'key' || noun === 'certificate' || noun === 'svid') return AuditEntryKind.AUDIT_ENTRY_KIND_KEY_EVENT;
  return AuditEntryKind.AUDIT_ENTRY_KIND_ADMIN;
}

/** A stored entry on the wire: `canonical` holds the exact bytes that were hashed. */
export function entryToProto(entry: StoredEntry): AuditEntry {
  return {
    sequence: entry.sequence,
    recordedAt: entry.at,
    kind: kindCategory(entry.kind),
    correlationId: entry.correlationId ?? '',
    actor: entry.actor,
    canonical: Buffer.from(canonicalEntry(entry), 'utf8'),
    previousHash: entry.prevHash,
    hash: entry.hash,
  };
}

export function checkpointToProto(checkpoint: AuditCheckpoint, nodeId: string): Checkpoint {
  return {
    sequence: checkpoint.sequence,
    hash: checkpoint.hash,
    createdAt: checkpoint.signedAt,
    nodeId,
    signature: checkpoint.signature,
  };
}

/** The ErrorReason value of a registry code (0, unspecified, for one the proto lacks). */
export function reasonOf(code: ErrorCode): ErrorReason {
  return ErrorReason[`ERROR_REASON_${code}` as keyof typeof ErrorReason] ?? ErrorReason.ERROR_REASON_UNSPECIFIED;
}

/**
 * A stored receipt as the proto `Receipt`, its fields read from the signed payload. The
 * payload is not re-verified here: this node signed it (provider) or verified it before
 * storing it (consumer); the caller verifies `signature` with the provider's keys.
 */
export function receiptToProto(receipt: AuditReceipt): { receipt: Receipt; consumerNodeId: string } {
  const claims = receiptClaims(receipt.receiptJws);
  const text = (name: string) => {
    const value = claims[name];
    if (typeof value !== 'string') {
      throw new MeshError('STORE_CORRUPTED', `the stored receipt of ${receipt.correlationId} lacks ${name}`, {
        details: { correlationId: receipt.correlationId, member: name },
      });
    }
    return value;
  };
  return {
    receipt: {
      providerNodeId: text('providerNodeId'),
      correlationId: text('correlationId'),
      method: text('method'),
      requestHash: text('requestHash'),
      responseDigest: text('responseDigest'),
      auditSequence: Number(text('auditSequence')),
      issuedAt: new Date(text('issuedAt')),
      signature: receipt.receiptJws,
    },
    // Not a field of the proto Receipt yet (protocol.md §6), but signed: who may see it.
    consumerNodeId: text('consumerNodeId'),
  };
}

function receiptClaims(jws: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below, like any other unreadable payload.
  }
  throw new MeshError('STORE_CORRUPTED', 'a stored receipt is not a readable JWS', {});
}

function badExport(message: string, sequence: number): MeshError {
  return new MeshError('MALFORMED_REQUEST', `audit export message for entry ${sequence}: ${message}`, {
    details: { sequence },
  });
}

/**
 * A wire entry back as a stored one, read from its canonical bytes only (the repeated
 * fields are for filtering, protocol.md §6). The verifier then recomputes the hash.
 */
export function entryFromProto(entry: AuditEntry): StoredEntry {
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(Buffer.from(entry.canonical).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw badExport('canonical is not JSON', entry.sequence);
  }
  const { actor, at, correlationId, kind, payload, prev, seq } = c;
  if (typeof actor !== 'string' || typeof kind !== 'string' || typeof prev !== 'string' || typeof at !== 'string') {
    throw badExport('canonical lacks actor, at, kind or prev', entry.sequence);
  }
  if (typeof seq !== 'number' || seq !== entry.sequence) throw badExport('seq differs from sequence', entry.sequence);
  return {
    sequence: seq,
    at: new Date(at),
    kind,
    actor,
    ...(typeof correlationId === 'string' ? { correlationId } : {}),
    // Embedded as canonical text, so canonicalizing it again gives the stored text back.
    payload: canonicalize(payload),
    prevHash: prev,
    hash: entry.hash,
  };
}

export function checkpointFromProto(checkpoint: Checkpoint): AuditCheckpoint {
  const kid = decodeProtectedHeader(checkpoint.signature).kid;
  return {
    sequence: checkpoint.sequence,
    hash: checkpoint.hash,
    signedAt: checkpoint.createdAt ?? new Date(0),
    kid: typeof kid === 'string' ? kid : '',
    signature: checkpoint.signature,
  };
}

/**
 * The messages of a whole `ExportAudit` stream (from entry 1, checkpoints included) as an
 * export `verifyAuditExport` checks offline. The head is the last entry received; pass
 * the node's keys from the verified cluster metadata, not from the node itself.
 */
export function auditExportFromMessages(
  messages: readonly ExportAuditResponse[],
  init: { nodeId: string; keys: JwkSet; exportedAt: Date },
): AuditExport {
  const entries: StoredEntry[] = [];
  const checkpoints: AuditCheckpoint[] = [];
  for (const { item } of messages) {
    if (item?.$case === 'entry') entries.push(entryFromProto(item.entry));
    else if (item?.$case === 'checkpoint') checkpoints.push(checkpointFromProto(item.checkpoint));
  }
  const last = entries.at(-1);
  return {
    header: {
      nodeId: init.nodeId,
      exportedAt: init.exportedAt,
      keys: init.keys,
      head: { sequence: last?.sequence ?? 0, hash: last?.hash ?? '0'.repeat(64) },
    },
    entries,
    checkpoints,
    receipts: [],
  };
}
