import { hash } from 'node:crypto';
import type { AuditEntry } from '../../common/stores/audit-store.js';
import { formatInstant } from './instant.js';

/** The members of an entry that are hashed: everything but `hash` itself. */
export type HashedEntryFields = Omit<AuditEntry, 'hash'>;

// With the `u` flag a well-formed surrogate pair is one code point, so only a lone one matches.
const LONE_SURROGATE = /\p{Surrogate}/u;

function jsonString(name: string, value: string): string {
  if (LONE_SURROGATE.test(value)) throw new TypeError(`audit entry ${name} holds a lone surrogate`);
  // RFC 8785 §3.2.2.2 serializes strings exactly as ECMAScript JSON.stringify does.
  return JSON.stringify(value);
}

/**
 * The RFC 8785 canonical JSON of an entry, the exact text that is hashed: an object with
 * `actor`, `at` (RFC 3339), `correlationId` (when set), `kind`, `payload` (the stored
 * canonical payload, embedded as JSON), `prev` (the previous entry's hash) and `seq`.
 *
 * Built by hand in JCS member order (§3.2.3) rather than through a generic canonicalizer:
 * the members are a fixed set of strings and one safe integer, whose JCS forms are
 * JSON.stringify's, and the payload is already canonical text. This halves the cost of an
 * append; a property test keeps it equal to `canonicalize()` of the same object.
 */
export function canonicalEntry(entry: HashedEntryFields): string {
  if (!Number.isSafeInteger(entry.sequence) || entry.sequence < 1) {
    throw new TypeError(`audit entry sequence must be a positive safe integer, got ${entry.sequence}`);
  }
  const correlation =
    entry.correlationId === undefined ? '' : `"correlationId":${jsonString('correlationId', entry.correlationId)},`;
  return (
    `{"actor":${jsonString('actor', entry.actor)},"at":"${formatInstant(entry.at)}",${correlation}` +
    `"kind":${jsonString('kind', entry.kind)},"payload":${entry.payload},` +
    `"prev":${jsonString('prevHash', entry.prevHash)},"seq":${entry.sequence}}`
  );
}

/** Lower-case hex SHA-256 of {@link canonicalEntry}: the entry's `hash`. */
export function hashEntry(entry: HashedEntryFields): string {
  // One-shot hash: no Hash object per entry on the append path.
  return hash('sha256', canonicalEntry(entry), 'hex');
}
