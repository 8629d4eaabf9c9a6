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

const HEX64 = /^[0-9a-f]{64}$/;
const isHex64 = (value: unknown) => typeof value === 'string' && HEX64.test(value);

// Field names are built only when a check fails: a batch of thousands of valid entries
// must not pay for eight error-message strings each.
function validateEntry(entry: AuditEntry, i: number): void {
  const f = (name: string) => `entries[${i}].${name}`;
  if (entry === null || typeof entry !== 'object') malformed(`entries[${i}]`, 'must be an object');
  if (!Number.isSafeInteger(entry.sequence) || entry.sequence < 1) requireInteger(f('sequence'), entry.sequence, 1);
  if (!(entry.at instanceof Date) || Number.isNaN(entry.at.getTime())) requireDate(f('at'), entry.at);
  if (typeof entry.kind !== 'string' || entry.kind === '') requireText(f('kind'), entry.kind);
  if (typeof entry.actor !== 'string' || entry.actor === '') requireText(f('actor'), entry.actor);
  if (entry.correlationId !== undefined && typeof entry.correlationId !== 'string') {
    optionalText(f('correlationId'), entry.correlationId);
  }
  requireJsonText(f('payload'), entry.payload);
  if (!isHex64(entry.prevHash)) requireHex64(f('prevHash'), entry.prevHash);
  if (!isHex64(entry.hash)) requireHex64(f('hash'), entry.hash);
}

/**
 * Checks, without copying, that `entries` are well-formed and continue the chain at `head`
 * and each other; returns the new head. A gap, a repeat or a wrong `prevHash` throws
 * `AUDIT_CHAIN_BROKEN`, a malformed entry `MALFORMED_REQUEST`. Hashes are not recomputed:
 * the hash function belongs to the audit core. For a store that copies the fields out at
 * once (into SQL); one that keeps the objects uses {@link checkAppend}.
 */
export function checkChain(head: AuditHead, entries: readonly AuditEntry[]): AuditHead {
  if (!Array.isArray(entries) || entries.length === 0) malformed('entries', 'must hold at least one entry');
  // Every entry is checked for shape before any link, so a malformed entry is reported as such.
  for (let i = 0; i < entries.length; i++) validateEntry(entries[i] as AuditEntry, i);
  let previous = head;
  for (const entry of entries) {
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
  return { sequence: previous.sequence, hash: previous.hash };
}

/** {@link checkChain}, then normalised copies of the entries for a store that keeps them. */
export function checkAppend(head: AuditHead, entries: readonly AuditEntry[]): AuditEntry[] {
  checkChain(head, entries);
  return entries.map(clone);
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
