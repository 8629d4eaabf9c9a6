import type { Clock } from '../../common/clock.js';
import type { JwkSet } from '../../trust-anchor/index.js';
import type { AuditLog } from './audit-log.js';
import { isReceiptInvalid, type ReceiptClaims, signReceipt, type VerifiedReceipt, verifyReceipt } from './receipt.js';
import type { AuditSigner } from './signer.js';

/** Entry kinds of the exchange evidence; the cross-check reads these. */
export const EXCHANGE_SERVED = 'exchange.served';
export const EXCHANGE_CONSUMED = 'exchange.consumed';
export const RECEIPT_REJECTED = 'exchange.receipt_rejected';

/** One exchange as both sides describe it. */
export interface ExchangeFacts {
  readonly correlationId: string;
  readonly method: string;
  /** Lower-case hex SHA-256 of the canonical request. */
  readonly requestHash: string;
  /** Lower-case hex SHA-256 of the canonical response without its receipt. */
  readonly responseDigest: string;
}

/** What the provider records before answering. */
export interface ServedExchange extends ExchangeFacts {
  /** SPIFFE id of the node that called (the mTLS peer). */
  readonly consumerNodeId: string;
  /** Who the call was for (the grant's subject), when it differs from the consumer node. */
  readonly actor?: string;
}

/** What the consumer records on receiving an answer. */
export interface ConsumedExchange extends ExchangeFacts {
  /** SPIFFE id of the node that answered (the mTLS peer). */
  readonly providerNodeId: string;
  /** The provider's keys, resolved through its city's trust chain. */
  readonly providerKeys: JwkSet;
  /** The receipt that came with the response. */
  readonly receipt: string;
  readonly actor?: string;
}

/** Options of {@link ExchangeAudit}. */
export interface ExchangeAuditInit {
  readonly log: AuditLog;
  readonly signer: AuditSigner;
  readonly clock: Clock;
}

/**
 * Both sides' evidence of an exchange. The provider logs `exchange.served` and signs a
 * receipt naming that durable entry; the consumer verifies the receipt, then logs
 * `exchange.consumed` with the receipt inside the entry (so the receipt itself is covered
 * by the consumer's hash chain) under the same correlation id. Each side also indexes the
 * receipt in the store's receipt table, in the same transaction as the entry.
 */
export class ExchangeAudit {
  readonly #init: ExchangeAuditInit;

  constructor(init: ExchangeAuditInit) {
    this.#init = init;
  }

  /**
   * Provider side: records the exchange, waits until the entry is durable, and returns the
   * signed receipt to send back with the response.
   */
  async served(exchange: ServedExchange): Promise<{ receipt: string; claims: ReceiptClaims }> {
    const { log, signer, clock } = this.#init;
    let claims: ReceiptClaims | undefined;
    // The receipt is signed once the entry's sequence is known and stored in the same
    // transaction; it is only handed out after that transaction is durable.
    const appended = await log.append(
      {
        kind: EXCHANGE_SERVED,
        actor: exchange.actor ?? exchange.consumerNodeId,
        correlationId: exchange.correlationId,
        payload: {
          method: exchange.method,
          requestHash: exchange.requestHash,
          responseDigest: exchange.responseDigest,
          consumerNodeId: exchange.consumerNodeId,
          providerNodeId: log.nodeId,
        },
      },
      {
        receipt: async (entry) => {
          claims = {
            providerNodeId: log.nodeId,
            consumerNodeId: exchange.consumerNodeId,
            correlationId: exchange.correlationId,
            method: exchange.method,
            requestHash: exchange.requestHash,
            responseDigest: exchange.responseDigest,
            auditSequence: entry.sequence,
            issuedAt: clock.now(),
          };
          const receiptJws = await signReceipt(claims, signer);
          return {
            correlationId: exchange.correlationId,
            role: 'provider',
            receiptJws,
            auditSequence: entry.sequence,
            at: claims.issuedAt,
          };
        },
      },
    );
    return { receipt: appended.receipt!.receiptJws, claims: claims! };
  }

  /**
   * Consumer side: verifies the receipt against what this node sent and received, then
   * records it. A receipt that does not verify is logged as `exchange.receipt_rejected`
   * (with the reason) and the `RECEIPT_INVALID` error is rethrown.
   */
  async consumed(exchange: ConsumedExchange): Promise<VerifiedReceipt> {
    const { log, clock } = this.#init;
    const actor = exchange.actor ?? log.nodeId;
    let verified: VerifiedReceipt;
    try {
      verified = await verifyReceipt(exchange.receipt, {
        keys: exchange.providerKeys,
        now: clock.now(),
        expected: {
          consumerNodeId: log.nodeId,
          providerNodeId: exchange.providerNodeId,
          correlationId: exchange.correlationId,
          method: exchange.method,
          requestHash: exchange.requestHash,
          responseDigest: exchange.responseDigest,
        },
      });
    } catch (err) {
      if (isReceiptInvalid(err)) {
        await log.append({
          kind: RECEIPT_REJECTED,
          actor,
          correlationId: exchange.correlationId,
          payload: {
            method: exchange.method,
            providerNodeId: exchange.providerNodeId,
            reason: err.code,
            rule: String(err.details.rule ?? ''),
            message: err.message,
          },
        });
      }
      throw err;
    }
    await log.append(
      {
        kind: EXCHANGE_CONSUMED,
        actor,
        correlationId: exchange.correlationId,
        payload: {
          method: exchange.method,
          requestHash: exchange.requestHash,
          responseDigest: exchange.responseDigest,
          providerNodeId: exchange.providerNodeId,
          consumerNodeId: log.nodeId,
          providerAuditSequence: verified.claims.auditSequence,
          receipt: exchange.receipt,
        },
      },
      {
        receipt: async () => ({
          correlationId: exchange.correlationId,
          role: 'consumer',
          receiptJws: exchange.receipt,
          auditSequence: verified.claims.auditSequence,
          at: clock.now(),
        }),
      },
    );
    return verified;
  }
}
