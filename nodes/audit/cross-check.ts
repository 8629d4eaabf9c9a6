import { isMeshError } from '../../common/errors/mesh-error.js';
import type { AuditEntry, AuditReceipt } from '../../common/stores/audit-store.js';
import { EXCHANGE_SERVED } from './exchange-evidence.js';
import type { AuditExport } from './export-format.js';
import { verifyReceipt } from './receipt.js';
import { payloadOf, verifyAuditExport } from './verify-export.js';
import type { AuditProblem, AuditVerifyReport, VerifyAuditOptions } from './verify-report.js';

/** What {@link crossCheckExports} found. */
export interface CrossCheckReport {
  readonly valid: boolean;
  readonly consumer: AuditVerifyReport;
  readonly provider: AuditVerifyReport;
  /** Receipts the consumer holds from this provider. */
  readonly receipts: number;
  /** Of those, how many the provider's log confirms. */
  readonly matched: number;
  readonly problems: readonly AuditProblem[];
}

/** The provider a receipt claims, read before it is verified, only to pick the receipts to check. */
function claimedProvider(receipt: AuditReceipt): string | undefined {
  try {
    const payload: unknown = JSON.parse(Buffer.from(receipt.receiptJws.split('.')[1] ?? '', 'base64url').toString());
    const provider = (payload as { providerNodeId?: unknown } | null)?.providerNodeId;
    return typeof provider === 'string' ? provider : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Proves that a consumer's and a provider's evidence agree. Both exports are verified on
 * their own first (the consumer's receipts with the provider's keys). Then every receipt
 * the consumer holds from this provider must verify with the provider's keys and name an
 * entry of the provider's verified chain that is `exchange.served` under the same
 * correlation id, for this consumer, with the same method, request hash and response
 * digest. And every exchange the provider logged for this consumer before the consumer's
 * export must appear in the consumer's log under its correlation id.
 *
 * Disagreements are `AUDIT_MISMATCH` problems; a receipt that does not verify is `RECEIPT_INVALID`.
 */
export async function crossCheckExports(
  consumer: AuditExport,
  provider: AuditExport,
  options: VerifyAuditOptions,
): Promise<CrossCheckReport> {
  const providerId = provider.header.nodeId;
  const consumerId = consumer.header.nodeId;
  const providerKeys = options.trustedKeys?.[providerId] ?? provider.header.keys;
  const consumerReport = await verifyAuditExport(consumer, {
    ...options,
    peerKeys: { ...options.peerKeys, [providerId]: providerKeys },
  });
  const providerReport = await verifyAuditExport(provider, options);
  const problems: AuditProblem[] = [];
  const mismatch = (rule: string, message: string, correlationId: string, sequence?: number) =>
    problems.push({
      code: 'AUDIT_MISMATCH',
      rule,
      message,
      correlationId,
      ...(sequence === undefined ? {} : { sequence }),
    });

  const providerEntries = provider.entries.slice(0, providerReport.verifiedThrough);
  let receipts = 0;
  let matched = 0;
  for (const receipt of consumer.receipts) {
    if (receipt.role !== 'consumer' || claimedProvider(receipt) !== providerId) continue;
    receipts++;
    const id = receipt.correlationId;
    let claims: Awaited<ReturnType<typeof verifyReceipt>>['claims'];
    try {
      ({ claims } = await verifyReceipt(receipt.receiptJws, {
        keys: providerKeys,
        now: options.now,
        expected: { consumerNodeId: consumerId, providerNodeId: providerId, correlationId: id },
      }));
    } catch (err) {
      if (!isMeshError(err)) throw err;
      problems.push({
        code: err.code,
        rule: String(err.details.rule ?? 'signature'),
        message: err.message,
        correlationId: id,
      });
      continue;
    }
    const entry: AuditEntry | undefined = providerEntries[claims.auditSequence - 1];
    if (entry === undefined) {
      mismatch(
        'provider-entry-missing',
        `receipt of ${id} names provider entry ${claims.auditSequence}, which the provider's verified log does not hold`,
        id,
        claims.auditSequence,
      );
      continue;
    }
    const payload = payloadOf(entry) ?? {};
    const disagreements: string[] = [];
    if (entry.kind !== EXCHANGE_SERVED) disagreements.push(`kind is ${entry.kind}`);
    if (entry.correlationId !== id) disagreements.push(`correlation id is ${entry.correlationId ?? 'absent'}`);
    for (const member of ['consumerNodeId', 'method', 'requestHash', 'responseDigest'] as const) {
      const want = member === 'consumerNodeId' ? consumerId : claims[member];
      if (payload[member] !== want) disagreements.push(`${member} differs`);
    }
    if (disagreements.length > 0) {
      mismatch(
        'provider-entry-differs',
        `receipt of ${id} names provider entry ${claims.auditSequence}, but there ${disagreements.join(', ')}`,
        id,
        claims.auditSequence,
      );
      continue;
    }
    matched++;
  }

  const consumerIds = new Set(
    consumer.entries
      .slice(0, consumerReport.verifiedThrough)
      .flatMap((e) => (e.correlationId ? [e.correlationId] : [])),
  );
  for (const entry of providerEntries) {
    if (entry.kind !== EXCHANGE_SERVED || entry.correlationId === undefined) continue;
    if (payloadOf(entry)?.consumerNodeId !== consumerId) continue;
    // Exchanges served after the consumer's export cannot be in it yet.
    if (entry.at.getTime() >= consumer.header.exportedAt.getTime()) continue;
    if (!consumerIds.has(entry.correlationId)) {
      mismatch(
        'consumer-entry-missing',
        `the provider logged serving ${entry.correlationId} to ${consumerId} (entry ${entry.sequence}), but the consumer's log has no entry for it`,
        entry.correlationId,
        entry.sequence,
      );
    }
  }

  return {
    valid: consumerReport.valid && providerReport.valid && problems.length === 0,
    consumer: consumerReport,
    provider: providerReport,
    receipts,
    matched,
    problems,
  };
}
