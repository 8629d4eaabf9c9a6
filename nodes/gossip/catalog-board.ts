import { isMeshError, type MeshError } from '../../common/errors/index.js';
import type { TopicValidator, Verdict } from '../../common/gossip/index.js';
import type { CatalogChange, VerifyNoticeOptions } from './catalog-notice.js';
import { verifyCatalogNotice } from './catalog-notice.js';

/** The latest notice accepted from one node. */
export interface NoticeRecord {
  readonly city: string;
  readonly seq: number;
  readonly changes: readonly CatalogChange[];
  readonly receivedAt: Date;
}

/**
 * Failures that say the notice is stale or that the receiver's metadata and the sender's
 * differ for now (a revocation or a renewed CA still spreading), not that it is false:
 * dropped without penalizing the peer that relayed it. Everything else is rejected.
 */
function isStale(err: MeshError): boolean {
  switch (err.code) {
    case 'TOKEN_EXPIRED':
    case 'TOKEN_REPLAYED':
    case 'CERTIFICATE_EXPIRED':
    case 'CITY_REVOKED':
    case 'NODE_REVOKED':
    case 'METADATA_EXPIRED':
      return true;
    case 'NOT_A_MEMBER':
      return err.details.rule !== 'other-cluster';
    case 'CERTIFICATE_INVALID':
      return err.details.rule === 'certificate-revoked' || err.details.rule === 'issuer-not-current';
    default:
      return false;
  }
}

/**
 * What this node knows of other nodes' catalogs from gossip: the latest accepted notice
 * per node. A notice is accepted only with a `seq` above the last one accepted from the
 * same node, so a replayed or reordered older notice changes nothing.
 */
export class CatalogBoard {
  readonly #latest = new Map<string, NoticeRecord>();
  #accepted = 0;

  /** Notices accepted since start. */
  get accepted(): number {
    return this.#accepted;
  }

  /** The latest notice accepted from a node (by SPIFFE id). */
  latest(node: string): NoticeRecord | undefined {
    return this.#latest.get(node);
  }

  /** Every node heard from, with its latest notice. */
  entries(): [string, NoticeRecord][] {
    return [...this.#latest];
  }

  /** Verifies a notice against what `current()` says now, and records it when it is new. */
  async receive(jws: string, current: () => VerifyNoticeOptions): Promise<Verdict> {
    try {
      const options = current();
      const { claims, publisher } = await verifyCatalogNotice(jws, options);
      const last = this.#latest.get(publisher.spiffeId);
      if (last !== undefined && claims.seq <= last.seq) {
        return { result: 'ignore', reason: `TOKEN_REPLAYED: seq ${claims.seq} is not above ${last.seq}` };
      }
      // Checked and set with no await in between: two copies cannot both pass.
      this.#latest.set(publisher.spiffeId, {
        city: publisher.city,
        seq: claims.seq,
        changes: claims.changes,
        receivedAt: options.now,
      });
      this.#accepted++;
      return { result: 'accept' };
    } catch (err) {
      if (!isMeshError(err)) throw err;
      const reason = `${err.code}: ${err.message}`;
      return isStale(err) ? { result: 'ignore', reason } : { result: 'reject', reason };
    }
  }

  /** The catalog topic's validator. */
  validator(current: () => VerifyNoticeOptions): TopicValidator {
    return (data) => this.receive(new TextDecoder().decode(data), current);
  }
}
