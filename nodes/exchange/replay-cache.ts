import { MeshError } from '../../common/errors/mesh-error.js';

/**
 * Remembers which one-time token ids were already used. A store-backed implementation
 * (shared by several nodes of a city behind one endpoint) can replace the memory one.
 *
 * Contract: `firstUse` must be atomic per key: of any number of concurrent calls with the
 * same key, exactly one may see `true`. Entries may be forgotten once `now >= forgetAt`,
 * never before: callers choose `forgetAt` so that by then the token itself is refused as
 * expired, which is what makes forgetting safe.
 */
export interface ReplayCache {
  /**
   * Records `key` until `forgetAt` (seconds since the epoch).
   *
   * @returns true when the key was not recorded yet (first use), false on a replay
   * @throws MeshError `RATE_LIMITED` when it cannot record the key (full): callers must refuse the token then
   */
  firstUse(key: string, forgetAt: number, now: number): boolean | Promise<boolean>;
}

/** Options of {@link MemoryReplayCache}. */
export interface MemoryReplayCacheOptions {
  /** Most live entries; default 100 000. Grants live ≤ 60 s, so this bounds the accepted rate, not history. */
  readonly maxEntries?: number;
}

/** A binary min-heap of (forgetAt, key): purging the oldest entries is O(log n) each. */
class ExpiryHeap {
  readonly #times: number[] = [];
  readonly #keys: string[] = [];

  get size(): number {
    return this.#times.length;
  }

  peekTime(): number | undefined {
    return this.#times[0];
  }

  push(time: number, key: string): void {
    this.#times.push(time);
    this.#keys.push(key);
    let i = this.#times.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#times[parent]! <= time) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  pop(): { time: number; key: string } | undefined {
    const n = this.#times.length;
    if (n === 0) return undefined;
    const top = { time: this.#times[0]!, key: this.#keys[0]! };
    this.#swap(0, n - 1);
    this.#times.pop();
    this.#keys.pop();
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n - 1 && this.#times[left]! < this.#times[smallest]!) smallest = left;
      if (right < n - 1 && this.#times[right]! < this.#times[smallest]!) smallest = right;
      if (smallest === i) break;
      this.#swap(i, smallest);
      i = smallest;
    }
    return top;
  }

  #swap(a: number, b: number): void {
    [this.#times[a], this.#times[b]] = [this.#times[b]!, this.#times[a]!];
    [this.#keys[a], this.#keys[b]] = [this.#keys[b]!, this.#keys[a]!];
  }
}

/**
 * In-process {@link ReplayCache}. Check and record happen in one synchronous step, so
 * concurrent requests carrying the same grant cannot both pass. When full of entries that
 * are still live it refuses (`RATE_LIMITED`) rather than evicting one: evicting a live
 * entry would reopen that token to replay.
 */
export class MemoryReplayCache implements ReplayCache {
  readonly #maxEntries: number;
  readonly #forgetAt = new Map<string, number>();
  readonly #heap = new ExpiryHeap();

  constructor(options: MemoryReplayCacheOptions = {}) {
    const max = options.maxEntries ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1) throw new TypeError('maxEntries must be a positive integer');
    this.#maxEntries = max;
  }

  /** Live entries (after the last purge). */
  get size(): number {
    return this.#forgetAt.size;
  }

  firstUse(key: string, forgetAt: number, now: number): boolean {
    if (typeof key !== 'string' || !Number.isFinite(forgetAt) || !Number.isFinite(now)) {
      throw new TypeError('firstUse needs a string key and finite times');
    }
    this.#purge(now);
    const known = this.#forgetAt.get(key);
    if (known !== undefined) {
      // A later forgetAt for the same key (clock skew between issuers) only extends the memory.
      if (forgetAt > known) {
        this.#forgetAt.set(key, forgetAt);
        this.#heap.push(forgetAt, key);
      }
      return false;
    }
    if (this.#forgetAt.size >= this.#maxEntries) {
      throw new MeshError(
        'RATE_LIMITED',
        'too many exchange grants in flight to check them for replay; retry shortly',
        {
          details: { rule: 'replay-cache-full', maxEntries: this.#maxEntries },
        },
      );
    }
    this.#forgetAt.set(key, forgetAt);
    this.#heap.push(forgetAt, key);
    return true;
  }

  #purge(now: number): void {
    for (let time = this.#heap.peekTime(); time !== undefined && time <= now; time = this.#heap.peekTime()) {
      const { key } = this.#heap.pop()!;
      // A key re-pushed with a later time keeps its newer heap entry; only the matching one deletes it.
      if (this.#forgetAt.get(key) === time) this.#forgetAt.delete(key);
    }
  }
}
