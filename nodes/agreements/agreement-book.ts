import { randomUUID } from 'node:crypto';
import type { JsonValue } from '../../common/canonical-json.js';
import type { Clock } from '../../common/clock.js';
import { isMeshError, MeshError } from '../../common/errors/index.js';
import type {
  Agreement,
  AgreementFilter,
  AgreementState,
  AgreementStore,
  Page,
  PageRequest,
} from '../../common/stores/index.js';
import type { AuditEvent, AuditLog } from '../audit/index.js';
import { type AgreementOperation, approvedExpiry, isDue, nextState } from './agreement-rules.js';

/** The audit kinds of agreement transitions. */
export const AGREEMENT_EVENTS = {
  requested: 'agreement.requested',
  agreed: 'agreement.agreed',
  rejected: 'agreement.rejected',
  terminated: 'agreement.terminated',
  expired: 'agreement.expired',
} as const;

/** Actor of transitions nobody asked for (lazy expiry). */
export const SYSTEM_ACTOR = 'system';

export interface AgreementBookInit {
  readonly store: AgreementStore;
  readonly audit: AuditLog;
  readonly clock: Clock;
  /** This node's city: the book decides only agreements it provides. */
  readonly city: string;
}

/** What a consumer asks for; the provider side has checked the dataset and the caller. */
export interface AgreementRequest {
  readonly datasetId: string;
  readonly consumerCity: string;
  readonly consumerSubject: string;
  readonly purpose: string;
  readonly expiresAt: Date;
  readonly justification?: string;
}

/** Options of approve, reject and terminate. */
export interface TransitionOptions {
  /** The version the caller read; 0 or absent: do not check. */
  readonly expectedVersion?: number;
  readonly reason?: string;
}

/**
 * The provider side of access agreements: every transition is a compare-and-set on the
 * store followed by an entry in the node's audit log. Used by the gRPC service and by
 * the CLI (which opens its own audit log on the same store). Agreements past their
 * `expiresAt` become EXPIRED lazily, whenever the book reads them.
 */
export class AgreementBook {
  readonly #store: AgreementStore;
  readonly #audit: AuditLog;
  readonly #clock: Clock;
  readonly #city: string;

  constructor(init: AgreementBookInit) {
    this.#store = init.store;
    this.#audit = init.audit;
    this.#clock = init.clock;
    this.#city = init.city;
  }

  /** Records a request (REQUESTED) and audits it. */
  async request(input: AgreementRequest, actor: string, extra: Record<string, JsonValue> = {}): Promise<Agreement> {
    const agreement = await this.#store.create({
      id: randomUUID(),
      datasetId: input.datasetId,
      consumerCity: input.consumerCity,
      consumerSubject: input.consumerSubject,
      providerCity: this.#city,
      purpose: input.purpose,
      state: 'REQUESTED',
      createdAt: this.#clock.now(),
      expiresAt: input.expiresAt,
    });
    await this.#record(AGREEMENT_EVENTS.requested, agreement, actor, {
      ...extra,
      ...(input.justification ? { justification: input.justification } : {}),
    });
    return agreement;
  }

  /** REQUESTED or OFFERED → AGREED, optionally for fewer days than requested. */
  async approve(
    id: string,
    actor: string,
    options: TransitionOptions & { expiresInDays?: number; extra?: Record<string, JsonValue> } = {},
  ): Promise<Agreement> {
    const current = await this.#loadOwn(id, options.expectedVersion);
    const to = nextState(current, 'approve');
    const expiresAt = approvedExpiry(current, this.#clock.now(), options.expiresInDays);
    return this.#move(current, to, actor, AGREEMENT_EVENTS.agreed, {
      ...(expiresAt ? { expiresAt } : {}),
      ...(options.reason ? { reason: options.reason } : {}),
      extra: options.extra ?? {},
    });
  }

  /** REQUESTED, OFFERED or ACCEPTED → TERMINATED, with the reason for the consumer. */
  reject(id: string, actor: string, options: TransitionOptions): Promise<Agreement> {
    return this.#end(id, actor, 'reject', AGREEMENT_EVENTS.rejected, options);
  }

  /** AGREED, VERIFIED or FINALIZED → TERMINATED, with the reason for the other party. */
  terminate(id: string, actor: string, options: TransitionOptions): Promise<Agreement> {
    return this.#end(id, actor, 'terminate', AGREEMENT_EVENTS.terminated, options);
  }

  /** The agreement (expired first if its time ran out), or `undefined`. */
  async get(id: string): Promise<Agreement | undefined> {
    const agreement = await this.#store.get(id);
    return agreement === undefined ? undefined : this.#expireIfDue(agreement);
  }

  /** A page of agreements in id order, each expired first if its time ran out. */
  async list(filter: AgreementFilter, page: PageRequest = {}): Promise<Page<Agreement>> {
    const result = await this.#store.list(filter, page);
    const items: Agreement[] = [];
    for (const a of result.items) items.push(await this.#expireIfDue(a));
    // An expiry may have moved an item out of a state filter.
    const kept = filter.state === undefined ? items : items.filter((a) => a.state === filter.state);
    return { ...result, items: kept };
  }

  /** Expires every open agreement of this city whose time ran out; returns them. */
  async expireDue(): Promise<Agreement[]> {
    const expired: Agreement[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.#store.list({}, { pageSize: 1000, ...(pageToken ? { pageToken } : {}) });
      for (const a of page.items) {
        const after = await this.#expireIfDue(a);
        if (after.state === 'EXPIRED' && a.state !== 'EXPIRED') expired.push(after);
      }
      pageToken = page.nextPageToken;
    } while (pageToken !== undefined);
    return expired;
  }

  async #end(
    id: string,
    actor: string,
    operation: AgreementOperation,
    kind: string,
    options: TransitionOptions,
  ): Promise<Agreement> {
    const reason = options.reason?.trim() ?? '';
    if (reason === '') {
      throw new MeshError('MALFORMED_REQUEST', `a reason is required to ${operation} an agreement`, {
        details: { field: 'reason' },
      });
    }
    const current = await this.#loadOwn(id, options.expectedVersion);
    return this.#move(current, nextState(current, operation), actor, kind, { reason, extra: {} });
  }

  /** An agreement this city provides, expired if due, at the version the caller read. */
  async #loadOwn(id: string, expectedVersion: number | undefined): Promise<Agreement> {
    const agreement = await this.get(id);
    if (agreement === undefined || agreement.providerCity !== this.#city) {
      throw new MeshError('AGREEMENT_NOT_FOUND', `${this.#city} provides no agreement ${id}`, { details: { id } });
    }
    if (expectedVersion !== undefined && expectedVersion !== 0 && expectedVersion !== agreement.version) {
      throw new MeshError(
        'VERSION_CONFLICT',
        `agreement ${id} is at version ${agreement.version}, not ${expectedVersion}; read it again`,
        { details: { id, expectedVersion, actualVersion: agreement.version } },
      );
    }
    return agreement;
  }

  async #expireIfDue(agreement: Agreement): Promise<Agreement> {
    if (agreement.providerCity !== this.#city || !isDue(agreement, this.#clock.nowMs())) return agreement;
    try {
      return await this.#move(agreement, 'EXPIRED', SYSTEM_ACTOR, AGREEMENT_EVENTS.expired, { extra: {} });
    } catch (err) {
      // Someone else expired (or ended) it first: theirs is the transition on record.
      if (isMeshError(err) && err.code === 'VERSION_CONFLICT')
        return (await this.#store.get(agreement.id)) ?? agreement;
      throw err;
    }
  }

  async #move(
    from: Agreement,
    to: AgreementState,
    actor: string,
    kind: string,
    options: { expiresAt?: Date; reason?: string; extra: Record<string, JsonValue> },
  ): Promise<Agreement> {
    const moved = await this.#store.transition(from.id, {
      expectedVersion: from.version,
      to,
      at: this.#clock.now(),
      actor,
      ...(options.reason ? { reason: options.reason } : {}),
      ...(options.expiresAt ? { expiresAt: options.expiresAt } : {}),
    });
    await this.#record(kind, moved, actor, {
      ...options.extra,
      from: from.state,
      ...(options.reason ? { reason: options.reason } : {}),
    });
    return moved;
  }

  async #record(kind: string, a: Agreement, actor: string, extra: Record<string, JsonValue>): Promise<void> {
    const event: AuditEvent = {
      kind,
      actor,
      payload: {
        agreementId: a.id,
        dataset: a.datasetId,
        consumerCity: a.consumerCity,
        consumerSubject: a.consumerSubject,
        providerCity: a.providerCity,
        purpose: a.purpose,
        state: a.state,
        version: a.version,
        ...(a.expiresAt ? { expiresAt: a.expiresAt.toISOString() } : {}),
        ...extra,
      },
    };
    // Another writer (the CLI, or the node while the CLI runs) may move the head: the log
    // rebuilds its batch on the new head by itself.
    await this.#audit.append(event);
  }
}
