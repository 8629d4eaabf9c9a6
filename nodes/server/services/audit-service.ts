import { MeshError } from '../../../common/errors/mesh-error.js';
import { parseSpiffeId } from '../../../common/ids/index.js';
import { requireString } from '../../../common/proto/index.js';
import type { AuditCheckpoint, AuditEntry } from '../../../common/stores/audit-store.js';
import {
  AuditEntryKind,
  type AuditServiceServer,
  type ExportAuditRequest,
  type ExportAuditResponse,
  type GetCheckpointRequest,
  type GetReceiptRequest,
  type ListAuditEntriesRequest,
  type ListAuditEntriesResponse,
  type ListCheckpointsRequest,
  type ListCheckpointsResponse,
  type VerifyAuditChainRequest,
  type VerifyAuditChainResponse,
} from '../../../proto/gen/citymesh/v1/audit_service.js';
import type { Receipt } from '../../../proto/gen/citymesh/v1/common.js';
import type { Caller } from '../caller.js';
import type { ExchangeDeps } from '../exchange-core.js';
import { serverStream, unary, writeWithBackpressure } from '../handler.js';
import { hasAppRole, requireAppRole } from '../roles.js';
import { allCheckpoints, entriesIn, ownFederationKeys, rangeOf, verifyRange } from './audit-chain.js';
import { issueToken, pageLimit, readToken, sequenceOf } from './audit-paging.js';
import { checkpointToProto, entryToProto, kindCategory, reasonOf, receiptToProto } from './audit-proto.js';

/** Most entries one filtered ListAuditEntries call reads; the token resumes after them. */
const FILTER_SCAN_BUDGET = 10_000;

/** Reads of the whole log are for this city's auditors only. */
const AUDITOR = 'auditor';

/**
 * Checkpoints are signed and reveal nothing of the content, so any member node may read
 * them (to pin this node's tail); apps need the auditor role.
 */
function requireAuditorOrNode(caller: Caller, method: string): void {
  if (caller.kind !== 'node') requireAppRole(caller, AUDITOR, method);
}

function notFound(message: string, field: string): MeshError {
  return new MeshError('AUDIT_ENTRY_NOT_FOUND', message, { details: { field } });
}

/** AuditService: this node's own audit log, for auditors and (checkpoints, receipts) peers. */
export function auditService(deps: ExchangeDeps): AuditServiceServer {
  const { context } = deps;
  const store = context.stores.audit;
  const nodeId = context.identity.spiffeId;
  const toCheckpoint = (c: AuditCheckpoint) => checkpointToProto(c, nodeId);

  return {
    listAuditEntries: unary(context, 'ListAuditEntries', async (request: ListAuditEntriesRequest, caller) => {
      requireAppRole(caller, AUDITOR, 'ListAuditEntries');
      const limit = pageLimit('ListAuditEntriesRequest', request.pageSize);
      const query = { from: request.fromSequence, kind: request.kind, correlationId: request.correlationId };
      let next =
        request.pageToken === '' ? Math.max(1, request.fromSequence) : sequenceOf(readToken(query, request.pageToken));
      const head = (await store.head()).sequence;
      const wanted = (e: AuditEntry) =>
        (request.kind === AuditEntryKind.AUDIT_ENTRY_KIND_UNSPECIFIED || kindCategory(e.kind) === request.kind) &&
        (request.correlationId === '' || e.correlationId === request.correlationId);
      // There is no index by kind or correlation id yet: a filtered page scans a bounded
      // stretch of the log and may come back short, with a token to go on.
      const scanEnd = Math.min(head, next + FILTER_SCAN_BUDGET - 1);
      const out: ListAuditEntriesResponse = { entries: [], nextPageToken: '' };
      let full = false;
      for await (const entry of entriesIn(store, { from: next, to: scanEnd })) {
        next = entry.sequence + 1;
        if (!wanted(entry)) continue;
        out.entries.push(entryToProto(entry));
        full = out.entries.length === limit;
        if (full) break;
      }
      if (!full) next = Math.max(next, scanEnd + 1);
      if (next <= head) out.nextPageToken = issueToken(query, String(next));
      return out;
    }),

    verifyAuditChain: unary(context, 'VerifyAuditChain', async (request: VerifyAuditChainRequest, caller) => {
      requireAppRole(caller, AUDITOR, 'VerifyAuditChain');
      const range = await rangeOf(store, request.fromSequence, request.toSequence);
      const verdict = await verifyRange(store, range, {
        keys: await ownFederationKeys(context.stores.keys),
        nodeId,
        now: context.clock.now(),
      });
      if (!verdict.valid) {
        context.log.warn(
          { event: 'audit.verify_failed', firstInvalid: verdict.firstInvalid, reason: verdict.reason },
          verdict.message ?? 'audit chain does not verify',
        );
      }
      const response: VerifyAuditChainResponse = {
        valid: verdict.valid,
        fromSequence: verdict.from,
        toSequence: verdict.to,
        firstInvalidSequence: verdict.firstInvalid,
        reason: verdict.reason === undefined ? 0 : reasonOf(verdict.reason),
        checkpoint: verdict.checkpoint && toCheckpoint(verdict.checkpoint),
      };
      return response;
    }),

    getCheckpoint: unary(context, 'GetCheckpoint', async (request: GetCheckpointRequest, caller) => {
      requireAuditorOrNode(caller, 'GetCheckpoint');
      if (request.sequence === 0) {
        const latest = await store.latestCheckpoint();
        if (latest === undefined) throw notFound(`${nodeId} has signed no audit checkpoint yet`, 'sequence');
        return { checkpoint: toCheckpoint(latest) };
      }
      for await (const c of allCheckpoints(store)) {
        if (c.sequence === request.sequence) return { checkpoint: toCheckpoint(c) };
        if (c.sequence > request.sequence) break;
      }
      throw notFound(`no audit checkpoint covers exactly entry ${request.sequence}`, 'sequence');
    }),

    listCheckpoints: unary(context, 'ListCheckpoints', async (request: ListCheckpointsRequest, caller) => {
      requireAuditorOrNode(caller, 'ListCheckpoints');
      const limit = pageLimit('ListCheckpointsRequest', request.pageSize);
      const since = request.since?.getTime() ?? Number.NEGATIVE_INFINITY;
      const query = { since: request.since?.toISOString() ?? '' };
      let storeToken = request.pageToken === '' ? undefined : readToken(query, request.pageToken);
      const out: ListCheckpointsResponse = { checkpoints: [], nextPageToken: '' };
      // The store's own token is carried inside ours; `since` only trims the oldest ones.
      do {
        const page = await store.listCheckpoints({
          pageSize: limit - out.checkpoints.length,
          ...(storeToken ? { pageToken: storeToken } : {}),
        });
        for (const c of page.items) if (c.signedAt.getTime() >= since) out.checkpoints.push(toCheckpoint(c));
        storeToken = page.nextPageToken;
      } while (storeToken !== undefined && out.checkpoints.length < limit);
      if (storeToken !== undefined) out.nextPageToken = issueToken(query, storeToken);
      return out;
    }),

    getReceipt: unary(context, 'GetReceipt', async (request: GetReceiptRequest, caller) => {
      const correlationId = requireString('GetReceiptRequest', 'correlation_id', request.correlationId, 64);
      if (caller.kind === 'app') requireAppRole(caller, AUDITOR, 'GetReceipt');
      const stored = await store.getReceipts(correlationId);
      const receipts: Receipt[] = [];
      for (const r of stored) {
        const { receipt, consumerNodeId } = receiptToProto(r);
        if (hasAppRole(caller, AUDITOR) || otherPartyCity(r.role, receipt, consumerNodeId) === peerCity(caller)) {
          receipts.push(receipt);
        }
      }
      // A peer learns nothing about exchanges it was not party to, not even that they exist.
      if (receipts.length === 0) {
        throw notFound(
          `no receipt under correlation id ${correlationId}${caller.kind === 'node' ? ` for an exchange with ${caller.peer.city}` : ''}`,
          'correlation_id',
        );
      }
      receipts.sort((a, b) => a.auditSequence - b.auditSequence);
      return { receipts };
    }),

    exportAudit: serverStream(context, 'ExportAudit', async (request: ExportAuditRequest, caller, call) => {
      requireAppRole(caller, AUDITOR, 'ExportAudit');
      const range = await rangeOf(store, request.fromSequence, request.toSequence);
      const checkpoints = request.includeCheckpoints ? allCheckpoints(store) : undefined;
      const nextCheckpoint = async () => (await checkpoints?.next())?.value as AuditCheckpoint | undefined;
      try {
        let pending = await nextCheckpoint();
        for await (const entry of entriesIn(store, range)) {
          if (call.cancelled) return;
          await writeWithBackpressure<ExportAuditResponse>(call, {
            item: { $case: 'entry', entry: entryToProto(entry) },
          });
          // Each checkpoint right after the entry it covers; ones before the range are skipped.
          while (pending !== undefined && pending.sequence <= entry.sequence) {
            if (pending.sequence === entry.sequence) {
              await writeWithBackpressure<ExportAuditResponse>(call, {
                item: { $case: 'checkpoint', checkpoint: toCheckpoint(pending) },
              });
            }
            pending = await nextCheckpoint();
          }
        }
      } finally {
        await checkpoints?.return(undefined);
      }
    }),
  };
}

/** The city of the node on the other side of an exchange this node holds a receipt of. */
function otherPartyCity(role: 'consumer' | 'provider', receipt: Receipt, consumerNodeId: string): string | undefined {
  const other = role === 'provider' ? consumerNodeId : receipt.providerNodeId;
  try {
    return parseSpiffeId(other, 'nodeId').city;
  } catch {
    return undefined;
  }
}

function peerCity(caller: Caller): string | undefined {
  return caller.kind === 'node' ? caller.peer.city : undefined;
}
