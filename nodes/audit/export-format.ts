import { MeshError } from '../../common/errors/mesh-error.js';
import type { AuditCheckpoint, AuditEntry, AuditHead, AuditReceipt } from '../../common/stores/audit-store.js';
import type { JwkSet } from '../../trust-anchor/index.js';
import { formatInstant, parseInstant } from './instant.js';

/** `format` of the first line of an export. */
export const AUDIT_EXPORT_FORMAT = 'citymesh-audit-export';
export const AUDIT_EXPORT_VERSION = 1;

/** The first line of an export: whose log it is and the keys it claims. */
export interface AuditExportHeader {
  readonly nodeId: string;
  readonly exportedAt: Date;
  /** The node's public signing keys (every federation key it has had, so old checkpoints verify). */
  readonly keys: JwkSet;
  /** The head when the export began: the export holds entries 1..head.sequence. */
  readonly head: AuditHead;
}

/** A whole export in memory, lines in file order. */
export interface AuditExport {
  readonly header: AuditExportHeader;
  readonly entries: readonly AuditEntry[];
  readonly checkpoints: readonly AuditCheckpoint[];
  readonly receipts: readonly AuditReceipt[];
}

/** The NDJSON line of the header. */
export function headerLine(header: AuditExportHeader): string {
  return JSON.stringify({
    type: 'header',
    format: AUDIT_EXPORT_FORMAT,
    version: AUDIT_EXPORT_VERSION,
    nodeId: header.nodeId,
    exportedAt: formatInstant(header.exportedAt),
    keys: header.keys,
    head: header.head,
  });
}

export function entryLine(e: AuditEntry): string {
  return JSON.stringify({
    type: 'entry',
    sequence: e.sequence,
    at: formatInstant(e.at),
    kind: e.kind,
    actor: e.actor,
    ...(e.correlationId === undefined ? {} : { correlationId: e.correlationId }),
    payload: e.payload,
    prevHash: e.prevHash,
    hash: e.hash,
  });
}

export function checkpointLine(c: AuditCheckpoint): string {
  return JSON.stringify({
    type: 'checkpoint',
    sequence: c.sequence,
    hash: c.hash,
    signedAt: formatInstant(c.signedAt),
    kid: c.kid,
    signature: c.signature,
  });
}

export function receiptLine(r: AuditReceipt): string {
  return JSON.stringify({
    type: 'receipt',
    correlationId: r.correlationId,
    role: r.role,
    auditSequence: r.auditSequence,
    at: formatInstant(r.at),
    receiptJws: r.receiptJws,
  });
}

type Line = Record<string, unknown>;

class LineReader {
  constructor(
    readonly line: Line,
    readonly number: number,
  ) {}

  fail(message: string, member?: string): never {
    throw new MeshError('MALFORMED_REQUEST', `audit export line ${this.number}: ${message}`, {
      details: { line: this.number, ...(member === undefined ? {} : { field: member }) },
    });
  }

  text(member: string, optional = false): string {
    const value = this.line[member];
    if (optional && value === undefined) return undefined as unknown as string;
    if (typeof value !== 'string' || value === '') this.fail(`${member} must be a non-empty string`, member);
    return value;
  }

  integer(member: string): number {
    const value = this.line[member];
    if (!Number.isSafeInteger(value) || (value as number) < 0) this.fail(`${member} must be an integer ≥ 0`, member);
    return value as number;
  }

  time(member: string): Date {
    const at = parseInstant(this.line[member]);
    if (at === undefined) this.fail(`${member} must be an RFC 3339 UTC time`, member);
    return at;
  }
}

function parseHeader(r: LineReader): AuditExportHeader {
  if (r.line.type !== 'header' || r.line.format !== AUDIT_EXPORT_FORMAT) {
    r.fail(`the first line must be the ${AUDIT_EXPORT_FORMAT} header`);
  }
  if (r.line.version !== AUDIT_EXPORT_VERSION) r.fail(`version ${String(r.line.version)} is not supported`, 'version');
  const keys = r.line.keys as JwkSet | undefined;
  if (typeof keys !== 'object' || keys === null || !Array.isArray(keys.keys)) r.fail('keys must be a JWK Set', 'keys');
  const head = r.line.head as Line | undefined;
  if (typeof head !== 'object' || head === null) r.fail('head must be an object', 'head');
  const h = new LineReader(head, r.number);
  return {
    nodeId: r.text('nodeId'),
    exportedAt: r.time('exportedAt'),
    keys,
    head: { sequence: h.integer('sequence'), hash: h.text('hash') },
  };
}

/**
 * Parses an NDJSON export: a header line, then `entry`, `checkpoint` and `receipt` lines.
 * Lines keep their file order, so that a reordered export is seen as such by the verifier.
 * Only the shape is checked here; whether the evidence holds is the verifier's job.
 *
 * @throws MeshError `MALFORMED_REQUEST` naming the line that is not part of the format
 */
export function parseAuditExport(text: string): AuditExport {
  const lines = text.split('\n');
  const entries: AuditEntry[] = [];
  const checkpoints: AuditCheckpoint[] = [];
  const receipts: AuditReceipt[] = [];
  let header: AuditExportHeader | undefined;
  lines.forEach((raw, i) => {
    if (raw.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    const r = new LineReader(parsed as Line, i + 1);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) r.fail('not a JSON object');
    if (header === undefined) {
      header = parseHeader(r);
      return;
    }
    switch (r.line.type) {
      case 'entry': {
        const correlationId = r.text('correlationId', true);
        entries.push({
          sequence: r.integer('sequence'),
          at: r.time('at'),
          kind: r.text('kind'),
          actor: r.text('actor'),
          ...(correlationId === undefined ? {} : { correlationId }),
          payload: r.text('payload'),
          prevHash: r.text('prevHash'),
          hash: r.text('hash'),
        });
        return;
      }
      case 'checkpoint':
        checkpoints.push({
          sequence: r.integer('sequence'),
          hash: r.text('hash'),
          signedAt: r.time('signedAt'),
          kid: r.text('kid'),
          signature: r.text('signature'),
        });
        return;
      case 'receipt': {
        const role = r.text('role') as AuditReceipt['role'];
        if (role !== 'consumer' && role !== 'provider') r.fail('role must be consumer or provider', 'role');
        receipts.push({
          correlationId: r.text('correlationId'),
          role,
          auditSequence: r.integer('auditSequence'),
          at: r.time('at'),
          receiptJws: r.text('receiptJws'),
        });
        return;
      }
      case 'header':
        r.fail('a second header');
        break;
      default:
        r.fail(`unknown line type ${JSON.stringify(r.line.type)}`, 'type');
    }
  });
  if (header === undefined) throw new MeshError('MALFORMED_REQUEST', 'the audit export is empty', {});
  return { header, entries, checkpoints, receipts };
}
