/**
 * A bounded map that evicts its least recently written entry.
 *
 * Recency is write order (reads do not refresh): caches here answer "most recently
 * updated first", and a `Map` keeps insertion order, so re-inserting on write is all it takes.
 */
export class LruMap<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #capacity: number;
  readonly #onEvict: ((key: K, value: V) => void) | undefined;

  /** @param capacity maximum entries (≥ 1); `onEvict` is told of every eviction. */
  constructor(capacity: number, onEvict?: (key: K, value: V) => void) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`LRU capacity must be a positive integer, got ${capacity}`);
    }
    this.#capacity = capacity;
    this.#onEvict = onEvict;
  }

  /** Maximum number of entries. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Current number of entries. */
  get size(): number {
    return this.#entries.size;
  }

  /** True when the map holds `capacity` entries. */
  get full(): boolean {
    return this.#entries.size >= this.#capacity;
  }

  /** The value for `key`, without refreshing its recency. */
  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  /** True when `key` is present. */
  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Writes `value` as the most recent entry, evicting the oldest when over capacity. */
  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) {
        const evicted = this.#entries.get(oldest.value) as V;
        this.#entries.delete(oldest.value);
        this.#onEvict?.(oldest.value, evicted);
      }
    }
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  /** Keys from least to most recently written. */
  keys(): IterableIterator<K> {
    return this.#entries.keys();
  }

  /** Entries from least to most recently written. */
  entries(): IterableIterator<[K, V]> {
    return this.#entries.entries();
  }

  /** Entries from most to least recently written. */
  *newestFirst(): IterableIterator<[K, V]> {
    const all = [...this.#entries.entries()];
    for (let i = all.length - 1; i >= 0; i--) yield all[i] as [K, V];
  }
}
