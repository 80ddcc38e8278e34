import type { Bus, ViewInfo, ViewMode } from "../bus/mod.ts";
import {
  DERIVED_VIEW_TAKE,
  type EntityDefinition,
  type Stack,
  type ViewRowRule,
  viewRowRules,
} from "../stack/mod.ts";
import type { ProjectorTelemetry, SpanAttributes } from "../telemetry/mod.ts";
import { LruMap } from "../util/mod.ts";
import type { PathCache } from "../vm/mod.ts";
import type { CachedViews } from "./cache_state.ts";
import type { DeliveryStamps } from "./delivery_stamps.ts";
import { Departures } from "./departures.ts";
import { DerivedView } from "./derived_view.ts";
import { createPatchFrameEncoder, type PatchFrameEncoder } from "./frames.ts";

/** A cached entity, as merged from its patches. */
export type Entity = Record<string, unknown>;

/** One of an entity's list/state/append views. */
export interface BaseView {
  readonly id: string;
  readonly mode: ViewMode;
  readonly spanAttributes: SpanAttributes;
  readonly encode: PatchFrameEncoder;
  /** The stack's row rule for the view: its frames go to each row group's own topic. */
  readonly rule?: ViewRowRule;
  /** With a rule: the rows that left a group, for `after` resumes. */
  readonly departures?: Departures;
  /** Frames published in the current batch. */
  frames: number;
  /**
   * With a row rule: the most listeners one of its group topics had when a frame was last
   * published there, the fan-out of its next frame as far as the projector can tell.
   */
  groupFanout: number;
}

/** Every view of one entity type, around the cache they share. */
export interface EntityViews extends CachedViews {
  readonly name: string;
  /** Shared by E/list, E/state and E/append: they receive identical updates. */
  readonly cache: LruMap<string, Entity>;
  readonly appendSet: ReadonlySet<string>;
  /** The list, state and append views. */
  readonly baseViews: readonly BaseView[];
  /** The base views every client sees whole (no row rule). */
  readonly openViews: readonly BaseView[];
  /** The base views with a row rule: their frames go to each row group's topic. */
  readonly ruledViews: readonly BaseView[];
  readonly derived: readonly DerivedView[];
  /** Every view's id: the base views', then the derived ones'. */
  readonly viewIds: readonly string[];
  readonly spanAttributes: SpanAttributes;
  /** Mutations applied in the current batch. */
  applied: number;
}

/** Every view of a stack: per entity type, by view id, and the derived ones by id. */
export interface ViewTable {
  readonly entities: ReadonlyMap<string, EntityViews>;
  /** Every view's info by id: per entity type, its base views first, then its derived ones. */
  readonly infos: ReadonlyMap<string, ViewInfo>;
  readonly derivedById: ReadonlyMap<string, DerivedView>;
}

/** What building the views needs. */
export interface ViewTableDeps {
  readonly bus: Bus;
  readonly paths: PathCache;
  readonly telemetry: ProjectorTelemetry;
  /** Derived views count the frames they publish here (the batch's counts). */
  readonly counts: { derivedFrame(entity: string): void };
  /** The batch's arrival stamps, which derived views' frames carry too. */
  readonly stamps: DeliveryStamps;
  /** Entities cached per entity type. */
  readonly cacheSize: number;
}

/** Builds the cache and the views of every entity type `stack` declares. */
export function createViewTable(stack: Stack, deps: ViewTableDeps): ViewTable {
  const entities = new Map<string, EntityViews>();
  const infos = new Map<string, ViewInfo>();
  const derivedById = new Map<string, DerivedView>();
  for (const [name, definition] of Object.entries(stack.entities)) {
    const views = createEntityViews(name, definition, deps);
    entities.set(name, views);
    for (const info of baseViewInfos(name)) {
      const rule = views.baseViews.find((view) => view.mode === info.mode)?.rule;
      infos.set(info.id, rule === undefined ? info : { ...info, rowRule: rule });
    }
    for (const view of views.derived) {
      infos.set(view.info.id, view.info);
      derivedById.set(view.info.id, view);
    }
  }
  return { entities, infos, derivedById };
}

/** One entity type's cache, its base views and its derived views. */
function createEntityViews(
  name: string,
  definition: EntityDefinition,
  { bus, paths, telemetry, counts, cacheSize, stamps }: ViewTableDeps,
): EntityViews {
  const derived: DerivedView[] = [];
  const cache = new LruMap<string, Entity>(cacheSize, (key) => {
    telemetry.viewCacheEviction(name);
    for (const view of derived) view.update(key, true);
  });
  const rules = viewRowRules(definition);
  const views = (["list", "state", "append"] as const).map((mode): BaseView => {
    const rule = rules.get(mode);
    return {
      id: `${name}/${mode}`,
      mode,
      spanAttributes: Object.freeze({ view: `${name}/${mode}`, mode }),
      encode: createPatchFrameEncoder(mode, `${name}/${mode}`),
      ...(rule === undefined ? {} : { rule, departures: new Departures(cacheSize) }),
      frames: 0,
      groupFanout: 0,
    };
  });
  for (const [viewName, view] of Object.entries(definition.views ?? {})) {
    const rule = rules.get(viewName);
    const info: ViewInfo = {
      id: `${name}/${viewName}`,
      entity: name,
      mode: "list",
      kind: "derived",
      sort: { field: paths.segments(view.sortBy), order: view.order ?? "asc" },
      defaultTake: view.take ?? DERIVED_VIEW_TAKE,
      ...(rule === undefined ? {} : { rowRule: rule }),
    };
    derived.push(
      new DerivedView(info, view, {
        bus,
        paths,
        lookup: (key) => cache.get(key),
        keys: () => cache.keys(),
        onFrame: () => counts.derivedFrame(name),
        stampFor: (topic, view) => stamps.for(topic, view),
      }),
    );
  }
  return {
    name,
    cache,
    appendSet: new Set(definition.append ?? []),
    baseViews: views,
    openViews: views.filter((view) => view.rule === undefined),
    ruledViews: views.filter((view) => view.rule !== undefined),
    derived,
    viewIds: Object.freeze([...views.map((view) => view.id), ...derived.map((d) => d.info.id)]),
    spanAttributes: Object.freeze({ entity: name }),
    applied: 0,
  };
}

/** The infos of an entity type's `list`, `state` and `append` views, in that order. */
function baseViewInfos(name: string): ViewInfo[] {
  return [
    {
      id: `${name}/list`,
      entity: name,
      mode: "list",
      kind: "list",
      sort: { field: ["_seq"], order: "desc" },
    },
    { id: `${name}/state`, entity: name, mode: "state", kind: "state" },
    { id: `${name}/append`, entity: name, mode: "append", kind: "append" },
  ];
}
