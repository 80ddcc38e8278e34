import type {
  Bus,
  DeliveryStamp,
  FrameOp,
  SnapshotEntity,
  ViewInfo,
  WindowHandle,
} from "../bus/mod.ts";
import type { DerivedViewDefinition } from "../stack/mod.ts";
import type { PathCache } from "../vm/mod.ts";
import { encodeDeleteFrame, encodeUpsertFrame } from "./frames.ts";
import { SortedKeys } from "./sort.ts";

interface WindowGroup {
  readonly skip: number;
  readonly take: number;
  readonly topic: string;
  refs: number;
}

/** Reads a cached entity's data. */
export type EntityLookup = (key: string) => Readonly<Record<string, unknown>> | undefined;

/**
 * A derived sorted view: keys ordered by one field, and the windows (skip/take) that
 * sessions hold open. Sessions with the same window share one topic, so each change is
 * turned into frames once per distinct window rather than once per session.
 */
export class DerivedView {
  readonly info: ViewInfo;
  readonly #sortBy: string;
  readonly #sorted: SortedKeys;
  readonly #windows = new Map<string, WindowGroup>();
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
    this.#sorted = new SortedKeys(definition.order ?? "asc");
    this.#bus = deps.bus;
    this.#paths = deps.paths;
    this.#lookup = deps.lookup;
    this.#keys = deps.keys;
    this.#onFrame = deps.onFrame;
    this.#stampFor = deps.stampFor;
  }

  /** Re-sorts `key` after its entity changed, or drops it when `removed`; publishes window deltas. */
  update(key: string, removed = false): void {
    if (this.#windows.size === 0) {
      this.#stale = true;
      return;
    }
    const before = [...this.#windows.values()].map((group) =>
      this.#sorted.window(group.skip, group.take)
    );
    if (removed) {
      if (!this.#sorted.delete(key)) return;
    } else {
      // The cached entity is already merged, so a patch without the sort field keeps
      // its previous sort value.
      this.#sorted.set(key, this.#paths.get(this.#lookup(key), this.#sortBy));
    }
    let i = 0;
    for (const group of this.#windows.values()) {
      this.#publishDelta(group, before[i++] as string[], key, removed);
    }
  }

  #publishDelta(group: WindowGroup, before: string[], changed: string, removed: boolean): void {
    const after = this.#sorted.window(group.skip, group.take);
    const afterSet = new Set(after);
    for (const key of before) {
      if (!afterSet.has(key)) {
        this.#publish(group, key, encodeDeleteFrame(this.info.id, key), "delete");
      }
    }
    const beforeSet = new Set(before);
    for (const key of after) {
      if (beforeSet.has(key) && (key !== changed || removed)) continue;
      const data = this.#lookup(key);
      if (data !== undefined) {
        this.#publish(group, key, encodeUpsertFrame(this.info.id, key, data), "upsert");
      }
    }
  }

  #publish(group: WindowGroup, key: string, bytes: Uint8Array, op: FrameOp): void {
    const stamp = this.#stampFor(group.topic, this.info.id);
    this.#bus.publish(group.topic, { key, bytes, op, stamp });
    this.#onFrame();
  }

  #rebuild(): void {
    this.#stale = false;
    const entries = [];
    for (const key of this.#keys()) {
      entries.push({ key, value: this.#paths.get(this.#lookup(key), this.#sortBy) });
    }
    this.#sorted.reset(entries);
  }

  #snapshot(group: WindowGroup): SnapshotEntity[] {
    const entities: SnapshotEntity[] = [];
    for (const key of this.#sorted.window(group.skip, group.take)) {
      const data = this.#lookup(key);
      if (data !== undefined) entities.push({ key, data });
    }
    return entities;
  }

  /** Opens (or shares) the window `skip`/`take`; dispose when the subscription ends. */
  openWindow(skip: number, take: number): WindowHandle {
    if (this.#stale) this.#rebuild();
    const id = `${skip}:${take}`;
    let group = this.#windows.get(id);
    if (group === undefined) {
      group = { skip, take, topic: `${this.info.id}#${id}`, refs: 0 };
      this.#windows.set(id, group);
    }
    group.refs++;
    const held = group;
    let open = true;
    return {
      topic: held.topic,
      snapshot: () => this.#snapshot(held),
      [Symbol.dispose]: () => {
        if (!open) return;
        open = false;
        if (--held.refs === 0) this.#windows.delete(id);
      },
    };
  }

  /** Number of distinct open windows. */
  get windowCount(): number {
    return this.#windows.size;
  }
}
