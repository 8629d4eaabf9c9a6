import type {
  Agreement,
  AgreementFilter,
  AgreementStore,
  NewAgreement,
  TransitionRequest,
} from '../../common/stores/agreement-store.js';
import type { Page, PageRequest } from '../../common/stores/paging.js';
import {
  agreementNotFound,
  applyTransition,
  checkAgreementFilter,
  newAgreement,
  resolveCreateConflict,
} from '../shared/agreement-rules.js';
import { clone } from '../shared/clone.js';
import { type PageTokenCodec, resolvePageSize } from '../shared/page-token.js';
import { keysetPage } from './keyset.js';

/** {@link AgreementStore} in memory, for tests and fakes. */
export class MemoryAgreementStore implements AgreementStore {
  readonly #agreements = new Map<string, Agreement>();

  constructor(private readonly tokens: PageTokenCodec) {}

  async create(input: NewAgreement): Promise<Agreement> {
    const created = newAgreement(input);
    const stored = this.#agreements.get(created.id);
    if (stored !== undefined) return clone(resolveCreateConflict(stored, created));
    this.#agreements.set(created.id, created);
    return clone(created);
  }

  async get(id: string): Promise<Agreement | undefined> {
    const stored = this.#agreements.get(id);
    return stored === undefined ? undefined : clone(stored);
  }

  async list(filter: AgreementFilter, page: PageRequest = {}): Promise<Page<Agreement>> {
    const query = checkAgreementFilter(filter);
    const size = resolvePageSize(page.pageSize);
    const after = this.tokens.after('agreements', query, page.pageToken, ['string']);
    const matching = [...this.#agreements.values()].filter(
      (a) =>
        (query.datasetId === undefined || a.datasetId === query.datasetId) &&
        (query.consumerCity === undefined || a.consumerCity === query.consumerCity) &&
        (query.state === undefined || a.state === query.state),
    );
    const result = keysetPage(
      matching,
      (a) => [a.id],
      after,
      size,
      (key) => this.tokens.encode('agreements', query, key),
    );
    return { ...result, items: result.items.map(clone) };
  }

  async transition(id: string, request: TransitionRequest): Promise<Agreement> {
    const stored = this.#agreements.get(id);
    if (stored === undefined) throw agreementNotFound(id);
    const next = applyTransition(stored, request);
    this.#agreements.set(id, next);
    return clone(next);
  }
}
