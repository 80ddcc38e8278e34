import type { LruMap } from "../util/mod.ts";
import type { DerivedView } from "./derived_view.ts";

type Entity = Record<string, unknown>;

/**
 * The view caches as a cluster checkpoint holds them: per entity type, the cached wire
 * entities (with `_seq`), least recently updated first, so loading them in order rebuilds
 * the same LRU order and the same "most recently updated first" snapshots.
 */
export type ProjectorState = Readonly<Record<string, readonly (readonly [string, Entity])[]>>;

/** What exporting and importing touch of one entity type's views. */
export interface CachedViews {
  readonly name: string;
  readonly cache: LruMap<string, Entity>;
  readonly derived: readonly DerivedView[];
}

/** Every cache's entries; the entities are the caches' own (serialise before changing any). */
export function exportCaches(views: Iterable<CachedViews>): ProjectorState {
  const state: Record<string, (readonly [string, Entity])[]> = {};
  for (const { name, cache } of views) state[name] = [...cache.entries()];
  return state;
}

/**
 * Replaces every cache with `state`'s entries (types it does not name end empty) and brings
 * the derived views along. No patch frames are published: subscribers of a replaced state
 * must subscribe again for a snapshot (the cluster closes their connections).
 */
export function importCaches(views: Iterable<CachedViews>, state: ProjectorState): void {
  for (const { name, cache, derived } of views) {
    for (const key of [...cache.keys()]) {
      cache.delete(key);
      for (const view of derived) view.update(key, true);
    }
    for (const [key, entity] of state[name] ?? []) {
      cache.set(key, entity);
      for (const view of derived) view.update(key);
    }
  }
}
