import type { SnapshotEntity, SnapshotQuery, ViewDirectory } from "../bus/mod.ts";
import { compareSeq } from "../stack/mod.ts";
import type { Entity, EntityViews, ViewTable } from "./entity_views.ts";

function seqOf(entity: Entity): string | undefined {
  return typeof entity._seq === "string" ? entity._seq : undefined;
}

/** Snapshot reads for subscribing sessions, from the view caches. */
export function createViewDirectory({ entities, infos, derivedById }: ViewTable): ViewDirectory {
  return {
    describe: (view) => infos.get(view),
    snapshot(view, query) {
      const info = infos.get(view);
      if (info === undefined || info.kind === "derived") return [];
      const entityViews = entities.get(info.entity)!;
      if (info.kind === "state") {
        if (query.key === undefined) return [];
        const data = entityViews.cache.get(query.key);
        return data === undefined ? [] : [{ key: query.key, data }];
      }
      return listSnapshot(entityViews, query);
    },
    openWindow(view, window) {
      const derived = derivedById.get(view);
      if (derived === undefined) throw new TypeError(`"${view}" is not a derived view`);
      return derived.openWindow(window.skip, window.take);
    },
  };
}

/**
 * A list or append view's snapshot from the cache: newest first, or with `after` the
 * entities past that cursor, oldest first; cut to `snapshotLimit`, then to `key` if given.
 */
function listSnapshot(views: EntityViews, query: SnapshotQuery): SnapshotEntity[] {
  let selected: [string, Entity][];
  if (query.after !== undefined) {
    const after = query.after;
    selected = [...views.cache.entries()]
      .filter(([, data]) => {
        const seq = seqOf(data);
        return seq !== undefined && compareSeq(seq, after) > 0;
      })
      .sort(([, a], [, b]) => compareSeq(seqOf(a)!, seqOf(b)!));
    if (query.snapshotLimit !== undefined) selected = selected.slice(0, query.snapshotLimit);
  } else if (query.snapshotLimit !== undefined) {
    selected = [...views.cache.entries()].sort(([, a], [, b]) => {
      const sa = seqOf(a);
      const sb = seqOf(b);
      if (sa === undefined || sb === undefined) return sa === sb ? 0 : sa === undefined ? 1 : -1;
      return compareSeq(sb, sa);
    }).slice(0, query.snapshotLimit);
  } else {
    selected = [...views.cache.newestFirst()];
  }
  if (query.key !== undefined) selected = selected.filter(([key]) => key === query.key);
  return selected.map(([key, data]) => ({ key, data }));
}
