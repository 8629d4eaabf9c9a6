import { MeshError } from '../../common/errors/mesh-error.js';
import {
  type AuditCheckpoint,
  type AuditEntry,
  type AuditHead,
  type AuditReceipt,
  GENESIS_PREV_HASH,
} from '../../common/stores/audit-store.js';
import { clone } from './clone.js';
import {
  malformed,
  optionalText,
  requireDate,
  requireHex64,
  requireInteger,
  requireJsonText,
  requireOneOf,
  requireText,
} from './validate.js';

/** The head of an empty chain. */
export const EMPTY_HEAD: AuditHead = Object.freeze({ sequence: 0, hash: GENESIS_PREV_HASH });

function validateEntry(entry: AuditEntry, i: number): AuditEntry {
  const f = (name: string) => `entries[${i}].${name}`;
  requireInteger(f('sequence'), entry.sequence, 1);
  requireDate(f('at'), entry.at);
  requireText(f('kind'), entry.kind);
  requireText(f('actor'), entry.actor);
  optionalText(f('correlationId'), entry.correlationId);
  requireJsonText(f('payload'), entry.payload);
  requireHex64(f('prevHash'), entry.prevHash);
  requireHex64(f('hash'), entry.hash);
  return clone(entry);
}

/**
 * Checks that `entries` continue the chain at `head` and each other; returns normalised
 * copies. A gap, a repeat or a wrong `prevHash` throws `AUDIT_CHAIN_BROKEN`. Hashes are
 * not recomputed: the hash function belongs to the audit core.
 */
export function checkAppend(head: AuditHead, entries: readonly AuditEntry[]): AuditEntry[] {
  if (!Array.isArray(entries) || entries.length === 0) malformed('entries', 'must hold at least one entry');
  const checked = entries.map(validateEntry);
  let previous = head;
  for (const entry of checked) {
    if (entry.sequence !== previous.sequence + 1) {
      throw broken(
        `entry ${entry.sequence} does not follow ${previous.sequence}`,
        entry.sequence,
        previous.sequence + 1,
      );
    }
    if (entry.prevHash !== previous.hash) {
      throw broken(
        `entry ${entry.sequence} does not link to the hash of entry ${previous.sequence}`,
        entry.sequence,
        previous.sequence + 1,
      );
    }
    previous = entry;
  }
  return checked;
}

function broken(message: string, sequence: number, expectedSequence: number): MeshError {
  return new MeshError('AUDIT_CHAIN_BROKEN', `audit append refused: ${message}`, {
    details: { sequence, expectedSequence },
  });
}

export function validateCheckpoint(checkpoint: AuditCheckpoint): AuditCheckpoint {
  requireInteger('sequence', checkpoint.sequence, 1);
  requireHex64('hash', checkpoint.hash);
  requireDate('signedAt', checkpoint.signedAt);
  requireText('kid', checkpoint.kid);
  requireText('signature', checkpoint.signature);
  return clone(checkpoint);
}

/**
 * Why a checkpoint may not be stored against the entry at its sequence, as an error to
 * throw, or `undefined` when it matches.
 */
export function checkpointMismatch(checkpoint: AuditCheckpoint, entry: AuditEntry | undefined): MeshError | undefined {
  if (entry === undefined) {
    return new MeshError('AUDIT_ENTRY_NOT_FOUND', `no audit entry ${checkpoint.sequence} to checkpoint`, {
      details: { sequence: checkpoint.sequence },
    });
  }
  if (entry.hash !== checkpoint.hash) {
    return new MeshError(
      'AUDIT_CHECKPOINT_INVALID',
      `checkpoint hash differs from the hash of audit entry ${checkpoint.sequence}`,
      {
        details: { sequence: checkpoint.sequence },
      },
    );
  }
  return undefined;
}

export function validateReceipt(receipt: AuditReceipt): AuditReceipt {
  requireText('correlationId', receipt.correlationId);
  requireOneOf('role', receipt.role, ['consumer', 'provider'] as const);
  requireText('receiptJws', receipt.receiptJws);
  requireInteger('auditSequence', receipt.auditSequence, 1);
  requireDate('at', receipt.at);
  return clone(receipt);
}
