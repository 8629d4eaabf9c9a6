import { canonicalize } from '../../common/canonical-json.js';
import { isMeshError } from '../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../common/errors/registry.js';
import { type AuditEntry, GENESIS_PREV_HASH } from '../../common/stores/audit-store.js';
import type { JwkSet } from '../../trust-anchor/index.js';
import { verifyCheckpoint } from './checkpoint.js';
import { hashEntry } from './entry-hash.js';
import { EXCHANGE_CONSUMED, EXCHANGE_SERVED } from './exchange-evidence.js';
import type { AuditExport } from './export-format.js';
import { verifyReceipt } from './receipt.js';
import type { AuditProblem, AuditVerifyReport, VerifyAuditOptions } from './verify-report.js';

/** An entry's payload as an object, or `undefined` when it is not one. */
export function payloadOf(entry: AuditEntry): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(entry.payload);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isCanonical(text: string): boolean {
  try {
    return canonicalize(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}

/** Why entry `expected` (at that position in the export) breaks the chain, or `undefined`. */
function chainProblem(entry: AuditEntry, expected: number, prevHash: string): AuditProblem | undefined {
  const broken = (rule: string, message: string): AuditProblem => ({
    code: 'AUDIT_CHAIN_BROKEN',
    rule,
    message,
    sequence: expected,
  });
  if (entry.sequence !== expected) {
    return broken(
      'sequence',
      `entry ${expected} is missing: the export holds sequence ${entry.sequence} in its place (an entry was deleted, inserted or moved)`,
    );
  }
  if (entry.prevHash !== prevHash) {
    return broken('prev-hash', `entry ${expected} does not link to the hash of entry ${expected - 1}`);
  }
  if (!isCanonical(entry.payload)) {
    return broken('payload-canonical', `entry ${expected}: the payload is not RFC 8785 canonical JSON`);
  }
  let hash: string | undefined;
  try {
    hash = hashEntry(entry);
  } catch {
    hash = undefined;
  }
  if (hash !== entry.hash) {
    return broken('hash', `entry ${expected}: its content does not hash to its recorded hash (changed after writing)`);
  }
  return undefined;
}

function failure(err: unknown): { code: ErrorCode; rule: string; message: string } {
  if (!isMeshError(err)) throw err;
  return { code: err.code, rule: String(err.details.rule ?? 'signature'), message: err.message };
}

/**
 * The offline verifier: checks one node's exported evidence without trusting anything
 * in it but the keys.
 *
 * - the chain: entries 1..n in order, each linking to the previous hash, each payload
 *   canonical and each hash recomputed (`AUDIT_CHAIN_BROKEN`, naming the first entry that fails);
 * - that the export ends at the head its header names;
 * - every checkpoint: its signature by the node's key and that it signs the hash the chain
 *   has at its sequence; a checkpoint beyond the last entry means entries were removed
 *   (`AUDIT_CHECKPOINT_INVALID`, `AUDIT_CHAIN_BROKEN`);
 * - every receipt: a provider receipt is signed by this node and names an `exchange.served`
 *   entry with the same correlation id and digests; a consumer receipt is inside an
 *   `exchange.consumed` entry, and verifies with its provider's keys when those are given
 *   (`RECEIPT_INVALID`).
 *
 * Never throws for bad evidence: everything found is in the report.
 */
export async function verifyAuditExport(exp: AuditExport, options: VerifyAuditOptions): Promise<AuditVerifyReport> {
  const { header } = exp;
  const problems: AuditProblem[] = [];
  const trusted = options.trustedKeys?.[header.nodeId];
  const keys = trusted ?? header.keys;

  let prevHash = GENESIS_PREV_HASH;
  let verifiedThrough = 0;
  let firstBroken: AuditProblem | undefined;
  for (const [i, entry] of exp.entries.entries()) {
    const problem = chainProblem(entry, i + 1, prevHash);
    if (problem !== undefined) {
      firstBroken = problem;
      problems.push(problem);
      break;
    }
    prevHash = entry.hash;
    verifiedThrough = i + 1;
  }
  if (firstBroken === undefined && (header.head.sequence !== verifiedThrough || header.head.hash !== prevHash)) {
    firstBroken = {
      code: 'AUDIT_CHAIN_BROKEN',
      rule: 'head',
      message: `the export ends at entry ${verifiedThrough} but its header names head ${header.head.sequence}`,
      sequence: Math.min(verifiedThrough, header.head.sequence) + 1,
    };
    problems.push(firstBroken);
  }
  const verifiedEntries = exp.entries.slice(0, verifiedThrough);

  // Checkpoints
  let verifiedCheckpoints = 0;
  let latestGood = 0;
  let previous = 0;
  for (const checkpoint of exp.checkpoints) {
    const at = checkpoint.sequence;
    if (at <= previous) {
      problems.push({
        code: 'AUDIT_CHECKPOINT_INVALID',
        rule: 'checkpoint-order',
        message: `checkpoint ${at} follows checkpoint ${previous}: checkpoints were reordered or repeated`,
        sequence: at,
      });
    }
    previous = Math.max(previous, at);
    try {
      await verifyCheckpoint(checkpoint, { keys, nodeId: header.nodeId, now: options.now });
    } catch (err) {
      problems.push({ ...failure(err), sequence: at });
      continue;
    }
    if (at > exp.entries.length) {
      const problem: AuditProblem = {
        code: 'AUDIT_CHAIN_BROKEN',
        rule: 'truncated',
        message: `checkpoint ${at} signs an entry the export does not hold: entries after ${exp.entries.length} were removed`,
        sequence: exp.entries.length + 1,
      };
      problems.push(problem);
      if (firstBroken === undefined || (firstBroken.sequence ?? 0) > exp.entries.length + 1) firstBroken = problem;
      continue;
    }
    const entry = verifiedEntries[at - 1];
    if (entry === undefined) continue; // beyond a break already reported: nothing to compare with
    if (entry.hash !== checkpoint.hash) {
      const problem: AuditProblem = {
        code: 'AUDIT_CHECKPOINT_INVALID',
        rule: 'chain-mismatch',
        message: `checkpoint ${at} signs another hash than entry ${at} has: the chain was rewritten after entry ${latestGood}`,
        sequence: latestGood + 1,
      };
      problems.push(problem);
      if (firstBroken === undefined || (firstBroken.sequence ?? 0) > latestGood + 1) firstBroken = problem;
      continue;
    }
    verifiedCheckpoints++;
    latestGood = Math.max(latestGood, at);
  }

  // Receipts
  const consumedByCorrelation = new Map<string, Record<string, unknown>[]>();
  for (const entry of verifiedEntries) {
    if (entry.kind !== EXCHANGE_CONSUMED || entry.correlationId === undefined) continue;
    const payload = payloadOf(entry);
    if (payload === undefined) continue;
    const list = consumedByCorrelation.get(entry.correlationId) ?? [];
    list.push(payload);
    consumedByCorrelation.set(entry.correlationId, list);
  }
  let verifiedReceipts = 0;
  let unchecked = 0;
  for (const receipt of exp.receipts) {
    const bad = (rule: string, message: string) =>
      problems.push({ code: 'RECEIPT_INVALID', rule, message, correlationId: receipt.correlationId });
    const what = `${receipt.role} receipt of ${receipt.correlationId}`;
    let providerKeys: JwkSet | undefined;
    let expected: Record<string, unknown> | undefined;
    if (receipt.role === 'provider') {
      const entry = verifiedEntries[receipt.auditSequence - 1];
      if (entry === undefined || entry.kind !== EXCHANGE_SERVED || entry.correlationId !== receipt.correlationId) {
        bad(
          'audit-entry',
          `${what} names entry ${receipt.auditSequence}, which is not a verified exchange.served entry of it`,
        );
        continue;
      }
      expected = { ...payloadOf(entry), providerNodeId: header.nodeId };
      providerKeys = keys;
    } else {
      expected = consumedByCorrelation.get(receipt.correlationId)?.find((p) => p.receipt === receipt.receiptJws);
      if (expected === undefined) {
        bad('audit-entry', `${what} is in no verified exchange.consumed entry of this log`);
        continue;
      }
      const provider = String(expected.providerNodeId);
      providerKeys = options.trustedKeys?.[provider] ?? options.peerKeys?.[provider];
      if (expected.providerAuditSequence !== receipt.auditSequence) {
        bad(
          'audit-sequence',
          `${what} names provider entry ${receipt.auditSequence}, its audit entry says ${String(expected.providerAuditSequence)}`,
        );
        continue;
      }
      if (providerKeys === undefined) {
        unchecked++;
        continue;
      }
    }
    try {
      const verified = await verifyReceipt(receipt.receiptJws, {
        keys: providerKeys,
        now: options.now,
        expected: {
          consumerNodeId: String(expected.consumerNodeId),
          providerNodeId: String(expected.providerNodeId),
          correlationId: receipt.correlationId,
          method: String(expected.method),
          requestHash: String(expected.requestHash),
          responseDigest: String(expected.responseDigest),
        },
      });
      if (verified.claims.auditSequence !== receipt.auditSequence) {
        bad(
          'audit-sequence',
          `${what} is signed for provider entry ${verified.claims.auditSequence}, stored as ${receipt.auditSequence}`,
        );
        continue;
      }
      verifiedReceipts++;
    } catch (err) {
      const f = failure(err);
      problems.push({ ...f, correlationId: receipt.correlationId });
    }
  }

  return {
    valid: problems.length === 0,
    nodeId: header.nodeId,
    keySource: trusted === undefined ? 'export' : 'trusted',
    entries: exp.entries.length,
    verifiedThrough,
    checkpoints: {
      total: exp.checkpoints.length,
      verified: verifiedCheckpoints,
      ...(latestGood > 0 ? { latest: latestGood } : {}),
    },
    receipts: { total: exp.receipts.length, verified: verifiedReceipts, unchecked },
    uncheckpointed: Math.max(0, verifiedThrough - latestGood),
    ...(firstBroken === undefined
      ? {}
      : { firstBroken: { sequence: firstBroken.sequence ?? 0, code: firstBroken.code, message: firstBroken.message } }),
    problems,
  };
}
