import { contentKey } from '../../common/content-key.js';
import type { Page, PageRequest } from '../../common/stores/paging.js';
import type {
  PolicyActivation,
  PolicyChange,
  PolicyStore,
  PolicyVersion,
  PolicyVersionSummary,
} from '../../common/stores/policy-store.js';
import { type PageTokenCodec, resolvePageSize } from '../shared/page-token.js';
import {
  checkActivation,
  checkPolicyVersion,
  checkSince,
  nextChange,
  policyVersionNotFound,
  requireVersionId,
  resolvePutConflict,
} from '../shared/policy-rules.js';
import { fromMs, optionalField, toMs } from './columns.js';
import type { SqliteDatabase } from './database.js';
import { toPage } from './paging.js';

type SummaryRow = {
  version: string;
  digest: string;
  created_at: number;
  created_by: string;
  comment: string | null;
};
type VersionRow = SummaryRow & { files: string };
type ListedRow = SummaryRow & { active: number };

type ChangeRow = {
  sequence: number;
  version: string;
  previous_version: string | null;
  changed_at: number;
  changed_by: string;
  summary: string | null;
  rules_added: number;
  rules_removed: number;
};

function versionFromRow(row: VersionRow): PolicyVersion {
  return {
    version: row.version,
    digest: row.digest,
    files: JSON.parse(row.files) as Record<string, string>,
    createdAt: fromMs(row.created_at),
    createdBy: row.created_by,
    ...optionalField('comment', row.comment),
  };
}

function summaryFromRow(row: ListedRow): PolicyVersionSummary {
  return {
    version: row.version,
    digest: row.digest,
    createdAt: fromMs(row.created_at),
    createdBy: row.created_by,
    ...optionalField('comment', row.comment),
    active: row.active === 1,
  };
}

function changeFromRow(row: ChangeRow): PolicyChange {
  return {
    sequence: row.sequence,
    version: row.version,
    ...optionalField('previousVersion', row.previous_version),
    changedAt: fromMs(row.changed_at),
    changedBy: row.changed_by,
    ...optionalField('summary', row.summary),
    rulesAdded: row.rules_added,
    rulesRemoved: row.rules_removed,
  };
}

// The summary columns only: a listing must not read megabytes of files per row.
const LIST_VERSIONS = `SELECT version, digest, created_at, created_by, comment,
  version IS (SELECT version FROM policy_changes ORDER BY sequence DESC LIMIT 1) AS active
  FROM policy_versions`;
const VERSIONS_ORDER = 'ORDER BY created_at DESC, version DESC LIMIT @limit';
const LIST_CHANGES = 'SELECT * FROM policy_changes WHERE changed_at >= @since';

/** {@link PolicyStore} on SQLite; `activate` reads the latest change and appends inside one IMMEDIATE transaction. */
export class SqlitePolicyStore implements PolicyStore {
  readonly #selectVersion;
  readonly #versionExists;
  readonly #listFirst;
  readonly #listAfter;
  readonly #latest;
  readonly #changesFirst;
  readonly #changesAfter;
  readonly #put;
  readonly #activate;

  constructor(
    db: SqliteDatabase,
    private readonly tokens: PageTokenCodec,
  ) {
    this.#selectVersion = db.prepare<[string], VersionRow>('SELECT * FROM policy_versions WHERE version = ?');
    this.#versionExists = db.prepare<[string], 1>('SELECT 1 FROM policy_versions WHERE version = ?').pluck();
    this.#listFirst = db.prepare<[{ limit: number }], ListedRow>(`${LIST_VERSIONS} ${VERSIONS_ORDER}`);
    this.#listAfter = db.prepare<[{ limit: number; k0: number; k1: string }], ListedRow>(
      `${LIST_VERSIONS} WHERE (created_at, version) < (@k0, @k1) ${VERSIONS_ORDER}`,
    );
    this.#latest = db.prepare<[], ChangeRow>('SELECT * FROM policy_changes ORDER BY sequence DESC LIMIT 1');
    this.#changesFirst = db.prepare<[{ since: number; limit: number }], ChangeRow>(
      `${LIST_CHANGES} ORDER BY sequence LIMIT @limit`,
    );
    this.#changesAfter = db.prepare<[{ since: number; limit: number; k0: number }], ChangeRow>(
      `${LIST_CHANGES} AND sequence > @k0 ORDER BY sequence LIMIT @limit`,
    );
    const insertVersion = db.prepare<[VersionRow]>(
      `INSERT INTO policy_versions (version, digest, created_at, created_by, comment, files)
       VALUES (@version, @digest, @created_at, @created_by, @comment, @files)
       ON CONFLICT (version) DO NOTHING`,
    );
    const insertChange = db.prepare<[ChangeRow]>(
      `INSERT INTO policy_changes (sequence, version, previous_version, changed_at, changed_by, summary, rules_added, rules_removed)
       VALUES (@sequence, @version, @previous_version, @changed_at, @changed_by, @summary, @rules_added, @rules_removed)`,
    );
    this.#put = db.transaction((version: PolicyVersion): void => {
      const row: VersionRow = {
        version: version.version,
        digest: version.digest,
        created_at: toMs(version.createdAt),
        created_by: version.createdBy,
        comment: version.comment ?? null,
        files: contentKey(version.files),
      };
      if (insertVersion.run(row).changes === 1) return;
      resolvePutConflict(versionFromRow(this.#selectVersion.get(version.version) as VersionRow), version);
    });
    this.#activate = db.transaction((activation: PolicyActivation, expected: string | undefined): PolicyChange => {
      if (this.#versionExists.get(activation.version) === undefined) throw policyVersionNotFound(activation.version);
      const latest = this.#latest.get();
      const change = nextChange(latest === undefined ? undefined : changeFromRow(latest), activation, expected);
      insertChange.run({
        sequence: change.sequence,
        version: change.version,
        previous_version: change.previousVersion ?? null,
        changed_at: toMs(change.changedAt),
        changed_by: change.changedBy,
        summary: change.summary ?? null,
        rules_added: change.rulesAdded,
        rules_removed: change.rulesRemoved,
      });
      return change;
    });
  }

  async putVersion(input: PolicyVersion): Promise<void> {
    this.#put.immediate(checkPolicyVersion(input));
  }

  async getVersion(version: string): Promise<PolicyVersion | undefined> {
    const row = this.#selectVersion.get(requireVersionId('version', version));
    return row === undefined ? undefined : versionFromRow(row);
  }

  async listVersions(page: PageRequest = {}): Promise<Page<PolicyVersionSummary>> {
    const size = resolvePageSize(page.pageSize);
    const after = this.tokens.after('policy-versions', {}, page.pageToken, ['number', 'string']);
    const rows =
      after === undefined
        ? this.#listFirst.all({ limit: size + 1 })
        : this.#listAfter.all({ limit: size + 1, k0: after[0] as number, k1: after[1] as string });
    return toPage(rows, size, summaryFromRow, (last) =>
      this.tokens.encode('policy-versions', {}, [toMs(last.createdAt), last.version]),
    );
  }

  async activate(input: PolicyActivation, expectedActive: string | undefined): Promise<PolicyChange> {
    return this.#activate.immediate(checkActivation(input, expectedActive), expectedActive);
  }

  async active(): Promise<PolicyChange | undefined> {
    const row = this.#latest.get();
    return row === undefined ? undefined : changeFromRow(row);
  }

  async changes(since: Date, page: PageRequest = {}): Promise<Page<PolicyChange>> {
    const from = toMs(checkSince(since));
    const query = { since: from };
    const size = resolvePageSize(page.pageSize);
    const after = this.tokens.after('policy-changes', query, page.pageToken, ['number']);
    const rows =
      after === undefined
        ? this.#changesFirst.all({ since: from, limit: size + 1 })
        : this.#changesAfter.all({ since: from, limit: size + 1, k0: after[0] as number });
    return toPage(rows, size, changeFromRow, (last) => this.tokens.encode('policy-changes', query, [last.sequence]));
  }
}
