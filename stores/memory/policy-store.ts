import type { Page, PageRequest } from '../../common/stores/paging.js';
import type {
  PolicyActivation,
  PolicyChange,
  PolicyStore,
  PolicyVersion,
  PolicyVersionSummary,
} from '../../common/stores/policy-store.js';
import { clone } from '../shared/clone.js';
import { type PageTokenCodec, resolvePageSize } from '../shared/page-token.js';
import {
  checkActivation,
  checkPolicyVersion,
  checkSince,
  nextChange,
  policyVersionNotFound,
  requireVersionId,
  resolvePutConflict,
  summarize,
} from '../shared/policy-rules.js';
import { compareKeys, keysetPage } from './keyset.js';

/** {@link PolicyStore} in memory, for tests and fakes. */
export class MemoryPolicyStore implements PolicyStore {
  readonly #versions = new Map<string, PolicyVersion>();
  readonly #changes: PolicyChange[] = [];

  constructor(private readonly tokens: PageTokenCodec) {}

  async putVersion(input: PolicyVersion): Promise<void> {
    const version = checkPolicyVersion(input);
    const stored = this.#versions.get(version.version);
    if (stored !== undefined) return resolvePutConflict(stored, version);
    this.#versions.set(version.version, version);
  }

  async getVersion(version: string): Promise<PolicyVersion | undefined> {
    const stored = this.#versions.get(requireVersionId('version', version));
    return stored === undefined ? undefined : clone(stored);
  }

  async listVersions(page: PageRequest = {}): Promise<Page<PolicyVersionSummary>> {
    const size = resolvePageSize(page.pageSize);
    const after = this.tokens.after('policy-versions', {}, page.pageToken, ['number', 'string']);
    // Newest first: the keyset order reversed, so "after" a key means below it.
    const sorted = [...this.#versions.values()]
      .map((v) => ({ v, key: [v.createdAt.getTime(), v.version] as const }))
      .filter(({ key }) => after === undefined || compareKeys(key, after) < 0)
      .sort((a, b) => compareKeys(b.key, a.key));
    const items = sorted.slice(0, size);
    const last = items.at(-1);
    const activeVersion = this.#changes.at(-1)?.version;
    return {
      items: items.map(({ v }) => summarize(v, activeVersion)),
      ...(sorted.length > size && last !== undefined
        ? { nextPageToken: this.tokens.encode('policy-versions', {}, last.key) }
        : {}),
    };
  }

  async activate(input: PolicyActivation, expectedActive: string | undefined): Promise<PolicyChange> {
    const activation = checkActivation(input, expectedActive);
    if (!this.#versions.has(activation.version)) throw policyVersionNotFound(activation.version);
    const change = nextChange(this.#changes.at(-1), activation, expectedActive);
    this.#changes.push(change);
    return clone(change);
  }

  async active(): Promise<PolicyChange | undefined> {
    const latest = this.#changes.at(-1);
    return latest === undefined ? undefined : clone(latest);
  }

  async changes(since: Date, page: PageRequest = {}): Promise<Page<PolicyChange>> {
    const from = checkSince(since).getTime();
    const query = { since: from };
    const size = resolvePageSize(page.pageSize);
    const after = this.tokens.after('policy-changes', query, page.pageToken, ['number']);
    const result = keysetPage(
      this.#changes.filter((c) => c.changedAt.getTime() >= from),
      (c) => [c.sequence],
      after,
      size,
      (key) => this.tokens.encode('policy-changes', query, key),
    );
    return { ...result, items: result.items.map(clone) };
  }
}
