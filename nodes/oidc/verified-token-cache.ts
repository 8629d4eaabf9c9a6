/**
 * A bounded map of verified tokens, evicting with the CLOCK (second chance) policy over
 * insertion order: a hit only sets a flag, so hits cost one map lookup and no reordering
 * (an LRU's delete-and-reinsert on every hit is what would cost), while entries used since
 * the last sweep survive it. An expired entry is dropped by the sweep whatever its flag.
 */
export class VerifiedTokenCache<V> {
  readonly #max: number;
  readonly #entries = new Map<string, { value: V; expiresAt: number; used: boolean }>();

  /** @param maxEntries most entries kept; 0 keeps none */
  constructor(maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 0) {
      throw new TypeError('maxEntries must be a non-negative integer');
    }
    this.#max = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value kept for `key`, marking it used; the caller still checks it is in date. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.value;
  }

  /** Keeps `value` for `key` until `expiresAt` (seconds): later sweeps may drop it from then on. */
  set(key: string, value: V, expiresAt: number, now: number): void {
    if (this.#max === 0) return;
    if (!this.#entries.has(key) && this.#entries.size >= this.#max) this.#evict(now);
    this.#entries.set(key, { value, expiresAt, used: false });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  /**
   * Frees one slot at least. Walks from the oldest insertion: expired or unused entries go,
   * used ones lose their flag and move to the back. Bounded by two passes, since after one
   * pass no flag is left set.
   */
  #evict(now: number): void {
    let budget = this.#entries.size * 2;
    for (const [key, entry] of this.#entries) {
      if (budget-- === 0) break;
      this.#entries.delete(key);
      if (entry.expiresAt > now && entry.used) {
        entry.used = false;
        this.#entries.set(key, entry);
        continue;
      }
      return;
    }
  }
}
