import { contentKey } from '../../common/content-key.js';
import type {
  Agreement,
  AgreementFilter,
  AgreementStore,
  AgreementTransition,
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
import { type PageTokenCodec, resolvePageSize } from '../shared/page-token.js';
import { requireText } from '../shared/validate.js';
import { fromMs, optionalDateField, optionalMs, toMs } from './columns.js';
import type { SqliteDatabase } from './database.js';
import { afterKey, listSql, type Params, toPage } from './paging.js';
import { StatementCache } from './statements.js';

type AgreementRow = {
  id: string;
  dataset_id: string;
  consumer_city: string;
  consumer_subject: string;
  provider_city: string;
  purpose: string;
  state: Agreement['state'];
  version: number;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  history: string;
};

/** History is JSON with `at` as epoch milliseconds. */
type TransitionJson = Omit<AgreementTransition, 'at'> & { at: number };

function fromRow(row: AgreementRow): Agreement {
  return {
    id: row.id,
    datasetId: row.dataset_id,
    consumerCity: row.consumer_city,
    consumerSubject: row.consumer_subject,
    providerCity: row.provider_city,
    purpose: row.purpose,
    state: row.state,
    version: row.version,
    createdAt: fromMs(row.created_at),
    updatedAt: fromMs(row.updated_at),
    ...optionalDateField('expiresAt', row.expires_at),
    history: (JSON.parse(row.history) as TransitionJson[]).map(
      (t): AgreementTransition => ({ ...t, at: fromMs(t.at) }),
    ),
  };
}

function toRow(a: Agreement): AgreementRow {
  return {
    id: a.id,
    dataset_id: a.datasetId,
    consumer_city: a.consumerCity,
    consumer_subject: a.consumerSubject,
    provider_city: a.providerCity,
    purpose: a.purpose,
    state: a.state,
    version: a.version,
    created_at: toMs(a.createdAt),
    updated_at: toMs(a.updatedAt),
    expires_at: optionalMs(a.expiresAt),
    history: contentKey(a.history.map((t) => ({ ...t, at: toMs(t.at) }))),
  };
}

/** {@link AgreementStore} on SQLite; `transition` is an UPDATE guarded by the expected version. */
export class SqliteAgreementStore implements AgreementStore {
  readonly #lists: StatementCache;
  readonly #select;
  readonly #insert;
  readonly #update;
  readonly #create;
  readonly #transition;

  constructor(
    db: SqliteDatabase,
    private readonly tokens: PageTokenCodec,
  ) {
    this.#lists = new StatementCache(db);
    this.#select = db.prepare<[string], AgreementRow>('SELECT * FROM agreements WHERE id = ?');
    this.#insert = db.prepare<[AgreementRow]>(
      `INSERT INTO agreements (id, dataset_id, consumer_city, consumer_subject, provider_city, purpose, state, version, created_at, updated_at, expires_at, history)
       VALUES (@id, @dataset_id, @consumer_city, @consumer_subject, @provider_city, @purpose, @state, @version, @created_at, @updated_at, @expires_at, @history)
       ON CONFLICT (id) DO NOTHING`,
    );
    // `version = @expected` makes the write itself the compare-and-set: even a writer that
    // skipped the read below could not overwrite a newer version.
    this.#update = db.prepare<[AgreementRow & { expected: number }]>(
      `UPDATE agreements SET state = @state, version = @version, updated_at = @updated_at, expires_at = @expires_at, history = @history
       WHERE id = @id AND version = @expected`,
    );
    this.#create = db.transaction((created: Agreement): Agreement => {
      if (this.#insert.run(toRow(created)).changes === 1) return created;
      return resolveCreateConflict(fromRow(this.#select.get(created.id) as AgreementRow), created);
    });
    this.#transition = db.transaction((id: string, request: TransitionRequest): Agreement => {
      const row = this.#select.get(id);
      if (row === undefined) throw agreementNotFound(id);
      const next = applyTransition(fromRow(row), request);
      if (this.#update.run({ ...toRow(next), expected: request.expectedVersion }).changes !== 1) {
        throw new Error(`agreement ${id}: compare-and-set failed inside a write transaction`);
      }
      return next;
    });
  }

  async create(input: NewAgreement): Promise<Agreement> {
    return this.#create(newAgreement(input));
  }

  async get(id: string): Promise<Agreement | undefined> {
    const row = this.#select.get(id);
    return row === undefined ? undefined : fromRow(row);
  }

  async list(filter: AgreementFilter, page: PageRequest = {}): Promise<Page<Agreement>> {
    const query = checkAgreementFilter(filter);
    const size = resolvePageSize(page.pageSize);
    const conditions: string[] = [];
    const params: Params = { limit: size + 1 };
    for (const [field, column] of [
      ['datasetId', 'dataset_id'],
      ['consumerCity', 'consumer_city'],
      ['state', 'state'],
    ] as const) {
      const value = query[field];
      if (value !== undefined) {
        conditions.push(`${column} = @${column}`);
        params[column] = value;
      }
    }
    const after = this.tokens.after('agreements', query, page.pageToken, ['string']);
    if (after !== undefined) {
      const keyset = afterKey(['id'], after);
      conditions.push(keyset.sql);
      Object.assign(params, keyset.params);
    }
    const rows = this.#lists.get(listSql('agreements', conditions, ['id'])).all(params) as AgreementRow[];
    return toPage(rows, size, fromRow, (last) => this.tokens.encode('agreements', query, [last.id]));
  }

  async transition(id: string, request: TransitionRequest): Promise<Agreement> {
    return this.#transition.immediate(requireText('id', id), request);
  }
}
