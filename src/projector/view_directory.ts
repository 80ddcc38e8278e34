import type { SnapshotEntity, SnapshotQuery, ViewDirectory } from "../bus/mod.ts";
import { compareSeq } from "../stack/mod.ts";
import type { PathCache } from "../vm/mod.ts";
import type { Entity, EntityViews, ViewTable } from "./entity_views.ts";
import { rowGroupIn } from "./row_group.ts";

function seqOf(entity: Entity): string | undefined {
  return typeof entity._seq === "string" ? entity._seq : undefined;
}

/**
 * Snapshot reads for subscribing sessions, from the view caches; a view with a row rule
 * gives only the rows of the query's group.
 */
export function createViewDirectory(
  { entities, infos, derivedById }: ViewTable,
  paths: PathCache,
): ViewDirectory {
  return {
    describe: (view) => infos.get(view),
    snapshot(view, query) {
      const info = infos.get(view);
      if (info === undefined || info.kind === "derived") return [];
      const entityViews = entities.get(info.entity)!;
      const rule = info.rowRule;
      // A client outside every group sees no row; what it is not shown looks like nothing
      // (a state subscribe to a hidden key answers as one to a key that does not exist).
      if (rule !== undefined && query.group === undefined) return [];
      const visible = rule === undefined
        ? undefined
        : (data: Entity) => rowGroupIn(paths, data, rule.field) === query.group;
      if (info.kind === "state") {
        if (query.key === undefined) return [];
        const data = entityViews.cache.get(query.key);
        return data === undefined || visible?.(data) === false ? [] : [{ key: query.key, data }];
      }
      return listSnapshot(entityViews, query, visible);
    },
    departed(view, { group, after }) {
      const info = infos.get(view);
      if (info?.rowRule === undefined || (info.kind !== "list" && info.kind !== "append")) {
        return [];
      }
      const entityViews = entities.get(info.entity)!;
      const base = entityViews.baseViews.find((candidate) => candidate.id === view);
      const field = info.rowRule.field;
      return base?.departures?.since(
        group,
        after,
        (key) => rowGroupIn(paths, entityViews.cache.get(key), field) === group,
      ) ?? [];
    },
    openWindow(view, window) {
      const derived = derivedById.get(view);
      if (derived === undefined) throw new TypeError(`"${view}" is not a derived view`);
      return derived.openWindow(window);
    },
  };
}

/**
 * A list or append view's snapshot from the cache: newest first, or with `after` the
 * entities past that cursor, oldest first; only the `visible` rows (all without it), cut
 * to `snapshotLimit`, then to `key` if given.
 */
function listSnapshot(
  views: EntityViews,
  query: SnapshotQuery,
  visible: ((data: Entity) => boolean) | undefined,
): SnapshotEntity[] {
  const rowsOf = (iterable: Iterable<[string, Entity]>) => {
    const rows = [...iterable];
    return visible === undefined ? rows : rows.filter(([, data]) => visible(data));
  };
  let selected: [string, Entity][];
  if (query.after !== undefined) {
    const after = query.after;
    selected = rowsOf(views.cache.entries())
      .filter(([, data]) => {
        const seq = seqOf(data);
        return seq !== undefined && compareSeq(seq, after) > 0;
      })
      .sort(([, a], [, b]) => compareSeq(seqOf(a)!, seqOf(b)!));
    if (query.snapshotLimit !== undefined) selected = selected.slice(0, query.snapshotLimit);
  } else if (query.snapshotLimit !== undefined) {
    selected = rowsOf(views.cache.entries()).sort(([, a], [, b]) => {
      const sa = seqOf(a);
      const sb = seqOf(b);
      if (sa === undefined || sb === undefined) return sa === sb ? 0 : sa === undefined ? 1 : -1;
      return compareSeq(sb, sa);
    }).slice(0, query.snapshotLimit);
  } else {
    selected = rowsOf(views.cache.newestFirst());
  }
  if (query.key !== undefined) selected = selected.filter(([key]) => key === query.key);
  return selected.map(([key, data]) => ({ key, data }));
}
