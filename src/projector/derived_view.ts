import type {
  Bus,
  DeliveryStamp,
  FrameOp,
  SnapshotEntity,
  ViewInfo,
  WindowHandle,
  WindowQuery,
} from "../bus/mod.ts";
import { type DerivedViewDefinition, rowTopic } from "../stack/mod.ts";
import type { PathCache } from "../vm/mod.ts";
import { encodeDeleteFrame, encodeUpsertFrame } from "./frames.ts";
import { rowGroupIn } from "./row_group.ts";
import { SortedKeys } from "./sort.ts";

/** A window (skip/take) of one row group that sessions hold open, shared by all of them. */
interface SharedWindow {
  readonly skip: number;
  readonly take: number;
  readonly topic: string;
  refs: number;
}

/** Reads a cached entity's data. */
export type EntityLookup = (key: string) => Readonly<Record<string, unknown>> | undefined;

/** The row group of a view without a row rule: every row is in it. */
const EVERYONE = "";

/**
 * A derived sorted view: keys ordered by one field, and the windows (skip/take) that
 * sessions hold open. Sessions with the same window share one topic, so each change is
 * turned into frames once per distinct window rather than once per session.
 *
 * With a row rule, each row group (the rows one claim value may see) has its own order and
 * its own windows: a client's `take: 10` is the first ten of its rows. A row whose group
 * changes leaves the old group's windows (`delete`) and enters the new one's (`upsert`).
 */
export class DerivedView {
  readonly info: ViewInfo;
  readonly #sortBy: string;
  readonly #order: "asc" | "desc";
  /** Per row group, its keys in sort order (one group, {@link EVERYONE}, without a rule). */
  readonly #sorted = new Map<string, SortedKeys>();
  /** Per row group, its open windows by `skip:take`. */
  readonly #windows = new Map<string, Map<string, SharedWindow>>();
  #windowCount = 0;
  /** With a row rule: the group each sorted key is in (the cache holds only the merged row). */
  readonly #groupOfKey = new Map<string, string>();
  readonly #ruleField: string | undefined;
  readonly #bus: Bus;
  readonly #paths: PathCache;
  readonly #lookup: EntityLookup;
  readonly #keys: () => Iterable<string>;
  readonly #onFrame: () => void;
  readonly #stampFor: (topic: string, view: string) => DeliveryStamp | undefined;
  /**
   * The sort order is kept only while a window is open: with none, a change just marks it
   * stale and the next window rebuilds it from the cache. Keeping a sorted array current
   * per event (a splice at the head for a "latest" view) was the projector's largest cost
   * for views nobody watched.
   */
  #stale = false;

  constructor(
    info: ViewInfo,
    definition: DerivedViewDefinition,
    deps: {
      bus: Bus;
      paths: PathCache;
      lookup: EntityLookup;
      /** Every cached key, for rebuilding the order when a window opens. */
      keys: () => Iterable<string>;
      onFrame: () => void;
      /** The current batch's arrival stamp for frames on `topic` (see `DeliveryStamps`). */
      stampFor: (topic: string, view: string) => DeliveryStamp | undefined;
    },
  ) {
    this.info = info;
    this.#sortBy = definition.sortBy;
    this.#order = definition.order ?? "asc";
    this.#ruleField = info.rowRule?.field;
    this.#bus = deps.bus;
    this.#paths = deps.paths;
    this.#lookup = deps.lookup;
    this.#keys = deps.keys;
    this.#onFrame = deps.onFrame;
    this.#stampFor = deps.stampFor;
  }

  /** The row group of a cached row: {@link EVERYONE} without a rule, none for a hidden row. */
  #groupOf(data: Readonly<Record<string, unknown>> | undefined): string | undefined {
    if (this.#ruleField === undefined) return EVERYONE;
    return rowGroupIn(this.#paths, data, this.#ruleField);
  }

  /** Re-sorts `key` after its entity changed, or drops it when `removed`; publishes window deltas. */
  update(key: string, removed = false): void {
    if (this.#windowCount === 0) {
      this.#stale = true;
      return;
    }
    const ruled = this.#ruleField !== undefined;
    const before = ruled ? this.#groupOfKey.get(key) : EVERYONE;
    const after = removed ? undefined : this.#groupOf(this.#lookup(key));
    if (before !== undefined && before !== after) this.#change(before, key, true);
    if (after !== undefined) this.#change(after, key, false);
    if (!ruled || before === after) return;
    if (after === undefined) this.#groupOfKey.delete(key);
    else this.#groupOfKey.set(key, after);
  }

  /** Moves `key` within (or out of) `group`'s order, and sends each open window's delta. */
  #change(group: string, key: string, removed: boolean): void {
    const sorted = this.#sortedOf(group);
    const windows = this.#windows.get(group);
    const before = windows === undefined
      ? []
      : [...windows.values()].map((window) => sorted.window(window.skip, window.take));
    if (removed) {
      if (!sorted.delete(key)) return;
    } else {
      // The cached entity is already merged, so a patch without the sort field keeps
      // its previous sort value.
      sorted.set(key, this.#paths.get(this.#lookup(key), this.#sortBy));
    }
    if (windows === undefined) return;
    let i = 0;
    for (const window of windows.values()) {
      this.#publishDelta(sorted, window, before[i++] as string[], key, removed);
    }
  }

  #sortedOf(group: string): SortedKeys {
    let sorted = this.#sorted.get(group);
    if (sorted === undefined) {
      sorted = new SortedKeys(this.#order);
      this.#sorted.set(group, sorted);
    }
    return sorted;
  }

  #publishDelta(
    sorted: SortedKeys,
    window: SharedWindow,
    before: string[],
    changed: string,
    removed: boolean,
  ): void {
    const after = sorted.window(window.skip, window.take);
    const afterSet = new Set(after);
    for (const key of before) {
      if (!afterSet.has(key)) {
        this.#publish(window, key, encodeDeleteFrame(this.info.id, key), "delete");
      }
    }
    const beforeSet = new Set(before);
    for (const key of after) {
      if (beforeSet.has(key) && (key !== changed || removed)) continue;
      const data = this.#lookup(key);
      if (data !== undefined) {
        this.#publish(window, key, encodeUpsertFrame(this.info.id, key, data), "upsert");
      }
    }
  }

  #publish(window: SharedWindow, key: string, bytes: Uint8Array, op: FrameOp): void {
    const stamp = this.#stampFor(window.topic, this.info.id);
    this.#bus.publish(window.topic, { key, bytes, op, stamp });
    this.#onFrame();
  }

  #rebuild(): void {
    this.#stale = false;
    const entries = new Map<string, { key: string; value: unknown }[]>();
    this.#groupOfKey.clear();
    for (const key of this.#keys()) {
      const data = this.#lookup(key);
      const group = this.#groupOf(data);
      if (group === undefined) continue;
      if (this.#ruleField !== undefined) this.#groupOfKey.set(key, group);
      let list = entries.get(group);
      if (list === undefined) entries.set(group, list = []);
      list.push({ key, value: this.#paths.get(data, this.#sortBy) });
    }
    this.#sorted.clear();
    for (const [group, list] of entries) this.#sortedOf(group).reset(list);
  }

  #snapshot(group: string, window: SharedWindow): SnapshotEntity[] {
    const entities: SnapshotEntity[] = [];
    const keys = this.#sorted.get(group)?.window(window.skip, window.take) ?? [];
    for (const key of keys) {
      const data = this.#lookup(key);
      if (data !== undefined) entities.push({ key, data });
    }
    return entities;
  }

  /**
   * Opens (or shares) the window `skip`/`take`; with a row rule, of the rows of `group`
   * (`query.group` is then required). Dispose when the subscription ends.
   */
  openWindow({ skip, take, group: asked }: WindowQuery): WindowHandle {
    const ruled = this.#ruleField !== undefined;
    if (ruled && asked === undefined) {
      throw new TypeError(`"${this.info.id}" has a row rule: a window needs the client's group`);
    }
    const group = ruled ? asked! : EVERYONE;
    if (this.#stale) this.#rebuild();
    const id = `${skip}:${take}`;
    let windows = this.#windows.get(group);
    if (windows === undefined) this.#windows.set(group, windows = new Map());
    let window = windows.get(id);
    if (window === undefined) {
      const topic = `${this.info.id}#${id}`;
      window = { skip, take, topic: ruled ? rowTopic(topic, group) : topic, refs: 0 };
      windows.set(id, window);
      this.#windowCount++;
    }
    window.refs++;
    const held = window;
    const heldIn = windows;
    let open = true;
    return {
      topic: held.topic,
      snapshot: () => this.#snapshot(group, held),
      [Symbol.dispose]: () => {
        if (!open) return;
        open = false;
        if (--held.refs > 0) return;
        heldIn.delete(id);
        this.#windowCount--;
        if (heldIn.size === 0) this.#windows.delete(group);
      },
    };
  }

  /** Number of distinct open windows (over every row group). */
  get windowCount(): number {
    return this.#windowCount;
  }
}
