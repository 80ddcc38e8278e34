function rank(value: unknown): number {
  switch (typeof value) {
    case "boolean":
      return 1;
    case "number":
      return 2;
    case "string":
      return 3;
    default:
      return 0; // null, undefined and anything unsortable rank as null
  }
}

/** Orders sort-field values: null < bool < number < string. */
export function compareSortValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return 0;
  if (ra === 1) return Number(a) - Number(b);
  if (ra === 2) return (a as number) - (b as number);
  return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
}

/** One key's place in a sorted view. */
export interface SortEntry {
  readonly key: string;
  readonly value: unknown;
}

/** Compares entries by value in `order`, ties broken by key ascending whatever the order. */
export function compareEntries(a: SortEntry, b: SortEntry, order: "asc" | "desc"): number {
  const byValue = compareSortValues(a.value, b.value);
  if (byValue !== 0) return order === "asc" ? byValue : -byValue;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Keys kept in sort order with binary-search insert and remove. */
export class SortedKeys {
  readonly #entries: SortEntry[] = [];
  readonly #values = new Map<string, unknown>();
  readonly #order: "asc" | "desc";

  constructor(order: "asc" | "desc") {
    this.#order = order;
  }

  get size(): number {
    return this.#entries.length;
  }

  #indexOf(entry: SortEntry): number {
    let lo = 0;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareEntries(this.#entries[mid] as SortEntry, entry, this.#order) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Places `key` by `value`, moving it if already present. */
  set(key: string, value: unknown): void {
    this.delete(key);
    const entry = { key, value };
    this.#entries.splice(this.#indexOf(entry), 0, entry);
    this.#values.set(key, value);
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: string): boolean {
    if (!this.#values.has(key)) return false;
    const at = this.#indexOf({ key, value: this.#values.get(key) });
    this.#entries.splice(at, 1);
    this.#values.delete(key);
    return true;
  }

  /** Replaces every entry with `entries` (any order), sorted once. */
  reset(entries: Iterable<SortEntry>): void {
    const all = [...entries];
    all.sort((a, b) => compareEntries(a, b, this.#order));
    this.#entries.length = 0;
    this.#values.clear();
    for (const entry of all) {
      this.#entries.push(entry);
      this.#values.set(entry.key, entry.value);
    }
  }

  /** Keys at positions `skip` to `skip + take - 1`. */
  window(skip: number, take: number): string[] {
    return this.#entries.slice(skip, skip + take).map((entry) => entry.key);
  }
}
