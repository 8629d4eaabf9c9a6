import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CatalogStore } from '../../common/stores/index.js';
import { writeFileAtomic } from '../trust/node-files.js';
import type { CatalogChange } from './catalog-notice.js';

/** Where a node remembers the catalog it last announced, so changes made while it was down are announced too. */
export const CATALOG_STATE_FILE = 'gossip/catalog-announced.json';

/** What an announcement says of one version: `id@version` → its facts. */
type Snapshot = Map<
  string,
  { id: string; version: string; kind: CatalogChange['kind']; industry: string; withdrawn: boolean }
>;

interface StateFile {
  seq: number;
  entries: [key: string, kind: CatalogChange['kind'], industry: string, withdrawn: boolean][];
}

/** The changes from `before` to `after`: new versions (published, or updated when the id had another), withdrawals. */
export function catalogChanges(before: Snapshot, after: Snapshot): CatalogChange[] {
  const knownIds = new Set([...before.values()].map((e) => e.id));
  const changes: CatalogChange[] = [];
  for (const [key, e] of after) {
    const was = before.get(key);
    const base = { id: e.id, kind: e.kind, version: e.version, industry: e.industry };
    if (was === undefined) {
      changes.push({ ...base, change: knownIds.has(e.id) ? 'updated' : 'published' });
      if (e.withdrawn) changes.push({ ...base, change: 'withdrawn' });
    } else if (e.withdrawn && !was.withdrawn) changes.push({ ...base, change: 'withdrawn' });
  }
  return changes;
}

/**
 * Watches the node's own catalog entries in its store, which `catalog publish` may change
 * from another process. The store file's size and time are checked first, so an idle
 * store costs a `stat` per poll; the entries are read only after a write.
 */
export class CatalogWatch {
  readonly #dir: string;
  readonly #storeFile: string | undefined;
  readonly #catalog: CatalogStore;
  readonly #city: string;
  #announced: Snapshot;
  #current: Snapshot | undefined;
  #fileStamp = '';
  #seq: number;

  /** `storeFile`: the SQLite file behind `catalog`; without it (a memory store) every poll reads. */
  constructor(dir: string, storeFile: string | undefined, catalog: CatalogStore, city: string) {
    this.#dir = dir;
    this.#storeFile = storeFile;
    this.#catalog = catalog;
    this.#city = city;
    const state = readState(join(dir, CATALOG_STATE_FILE));
    this.#seq = state.seq;
    this.#announced = new Map(
      state.entries.map(([key, kind, industry, withdrawn]) => {
        const at = key.lastIndexOf('@');
        return [key, { id: key.slice(0, at), version: key.slice(at + 1), kind, industry, withdrawn }];
      }),
    );
  }

  /** Changes not yet announced (re-reading the entries only when the store was written). */
  async pending(): Promise<CatalogChange[]> {
    const stamp = this.#storeFile === undefined ? undefined : fileStamp(this.#storeFile);
    if (this.#current === undefined || stamp === undefined || stamp !== this.#fileStamp) {
      this.#fileStamp = stamp ?? '';
      this.#current = await this.#read();
    }
    return catalogChanges(this.#announced, this.#current);
  }

  /** A sequence number above every one used before, across restarts: at least the clock in ms. */
  nextSeq(nowMs: number): number {
    this.#seq = Math.max(this.#seq + 1, nowMs);
    return this.#seq;
  }

  /** Records the entries read by the last {@link pending} as announced. */
  commit(): void {
    if (this.#current === undefined) return;
    this.#announced = this.#current;
    const state: StateFile = {
      seq: this.#seq,
      entries: [...this.#announced].map(([key, e]) => [key, e.kind, e.industry, e.withdrawn]),
    };
    writeFileAtomic(join(this.#dir, CATALOG_STATE_FILE), JSON.stringify(state));
  }

  async #read(): Promise<Snapshot> {
    const snapshot: Snapshot = new Map();
    let pageToken: string | undefined;
    do {
      const page = await this.#catalog.list(
        { city: this.#city, includeWithdrawn: true },
        { pageSize: 1000, ...(pageToken ? { pageToken } : {}) },
      );
      for (const e of page.items) {
        snapshot.set(`${e.id}@${e.version}`, {
          id: e.id,
          version: e.version,
          kind: e.kind,
          industry: e.industry,
          withdrawn: e.withdrawnAt !== undefined,
        });
      }
      pageToken = page.nextPageToken;
    } while (pageToken !== undefined);
    return snapshot;
  }
}

function readState(file: string): StateFile {
  if (!existsSync(file)) return { seq: 0, entries: [] };
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as StateFile;
    if (Number.isSafeInteger(state.seq) && Array.isArray(state.entries)) return state;
  } catch {
    // A damaged record only means announcing the whole catalog again.
  }
  return { seq: 0, entries: [] };
}

/** Size and modification time of the store and its WAL: any committed write changes one of them. */
function fileStamp(storeFile: string): string {
  return [storeFile, `${storeFile}-wal`]
    .map((f) => {
      try {
        const s = statSync(f, { bigint: true });
        return `${s.size}:${s.mtimeNs}`;
      } catch {
        return '-';
      }
    })
    .join('|');
}
