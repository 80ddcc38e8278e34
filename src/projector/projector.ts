import type {
  Bus,
  SnapshotEntity,
  SnapshotQuery,
  ViewDirectory,
  ViewInfo,
  ViewMode,
} from "../bus/mod.ts";
import { PROJECTOR_DEFAULTS } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { compareSeq, DERIVED_VIEW_TAKE, type Stack } from "../stack/mod.ts";
import {
  noopTracing,
  type OpenSpan,
  type ProjectorTelemetry,
  type SpanAttributes,
  type Tracing,
} from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import { LruMap } from "../util/mod.ts";
import {
  adoptPatch,
  clonePatchValue,
  mergeOwnedPatch,
  mergePatch,
  type Mutation,
  type PathCache,
} from "../vm/mod.ts";
import {
  type CachedViews,
  exportCaches,
  importCaches,
  type ProjectorState,
} from "./cache_state.ts";
import { DerivedView } from "./derived_view.ts";
import { createPatchFrameEncoder, type PatchFrameEncoder } from "./frames.ts";

type Entity = Record<string, unknown>;

/** One of an entity's list/state/append views. */
interface BaseView {
  readonly id: string;
  readonly mode: ViewMode;
  readonly spanAttributes: SpanAttributes;
  readonly encode: PatchFrameEncoder;
  /** Frames published in the current batch. */
  frames: number;
}

interface EntityViews extends CachedViews {
  readonly name: string;
  /** Shared by E/list, E/state and E/append: they receive identical updates. */
  readonly cache: LruMap<string, Entity>;
  readonly appendSet: ReadonlySet<string>;
  readonly baseViews: readonly BaseView[];
  readonly derived: readonly DerivedView[];
  readonly spanAttributes: SpanAttributes;
  /** Mutations applied in the current batch. */
  applied: number;
}

/**
 * One entity's share of a batch, on the batch's debug line: mutations applied, entities
 * cached after it, and frames published per view mode (`list`, `state`, `append`,
 * `derived`), those with none left out.
 */
interface EntityWork {
  mutations: number;
  cached: number;
  list?: number;
  state?: number;
  append?: number;
  derived?: number;
}

/** Applies batches of mutations to the view caches and publishes their frames on the bus. */
export interface Projector {
  /**
   * Applies `mutations` as one batch, now: the view caches take them in order and every
   * frame they cause is published before this returns (one batch line, one
   * `projector_latency` sample). The pipeline calls it once per slice of events it ran: the
   * slice is the batch. `parents[i]`, when given, is the span of the event behind
   * `mutations[i]` (`vm.process_event`): it parents that mutation's `projector.mutation`
   * span, so each event's trace continues across the batch.
   */
  apply(mutations: readonly Mutation[], parents?: readonly (OpenSpan | undefined)[]): void;
  /** Frames one mutation of `entity` fans out to now (listeners of its base views). */
  fanoutOf(entity: string): number;
  /** Snapshot reads for subscribing sessions. */
  readonly directory: ViewDirectory;
  /** The id of every view (`Token/list`, `Token/latest`, …), base views first per entity. */
  readonly viewIds: readonly string[];
  /** Every view cache: a cluster checkpoint's part. */
  exportState(): ProjectorState;
  /** Replaces every view cache with a checkpoint's; no frames are sent. */
  importState(state: ProjectorState): void;
}

/** Options for {@link createProjector}. */
export interface ProjectorOptions {
  readonly stack: Stack;
  readonly bus: Bus;
  readonly clock: Clock;
  readonly log: Logger;
  readonly telemetry: ProjectorTelemetry;
  /** `projector.mutation` and `projector.publish` spans; default none. */
  readonly tracing?: Tracing;
  readonly paths: PathCache;
  /** Entities cached per view; default {@link PROJECTOR_DEFAULTS}. */
  readonly cacheSize?: number;
  /**
   * Whether applied mutations are handed over: their patch values become the cache's
   * instead of being copied (the pipeline's VM makes fresh wire patches per event, which
   * nothing else holds). Default false: patches are copied, so callers may reuse them.
   */
  readonly ownsMutations?: boolean;
  /** Least time between two info-level batch lines, ms; default 1000. */
  readonly batchLogIntervalMs?: number;
}

function seqOf(entity: Entity): string | undefined {
  return typeof entity._seq === "string" ? entity._seq : undefined;
}

/** Creates the projector for one stack. */
export function createProjector(options: ProjectorOptions): Projector {
  const { bus, clock, log, telemetry } = options;
  const cacheSize = options.cacheSize ?? PROJECTOR_DEFAULTS.cacheSize;
  const entities = new Map<string, EntityViews>();
  const views = new Map<string, ViewInfo>();
  let framesInBatch = 0;
  // Frames counted per batch and reported once per batch and label set: a metric add per
  // frame hashed its attributes each time, a visible share of the event path.
  const derivedFrames = new Map<string, number>();

  for (const [name, definition] of Object.entries(options.stack.entities)) {
    const derived: DerivedView[] = [];
    const cache = new LruMap<string, Entity>(cacheSize, (key) => {
      telemetry.viewCacheEviction(name);
      for (const view of derived) view.update(key, true);
    });
    const baseViews = (["list", "state", "append"] as const).map((mode): BaseView => ({
      id: `${name}/${mode}`,
      mode,
      spanAttributes: Object.freeze({ view: `${name}/${mode}`, mode }),
      encode: createPatchFrameEncoder(mode, `${name}/${mode}`),
      frames: 0,
    }));
    views.set(baseViews[0]!.id, {
      id: baseViews[0]!.id,
      entity: name,
      mode: "list",
      kind: "list",
      sort: { field: ["_seq"], order: "desc" },
    });
    views.set(baseViews[1]!.id, {
      id: baseViews[1]!.id,
      entity: name,
      mode: "state",
      kind: "state",
    });
    views.set(baseViews[2]!.id, {
      id: baseViews[2]!.id,
      entity: name,
      mode: "append",
      kind: "append",
    });
    for (const [viewName, view] of Object.entries(definition.views ?? {})) {
      const info: ViewInfo = {
        id: `${name}/${viewName}`,
        entity: name,
        mode: "list",
        kind: "derived",
        sort: { field: options.paths.segments(view.sortBy), order: view.order ?? "asc" },
        defaultTake: view.take ?? DERIVED_VIEW_TAKE,
      };
      views.set(info.id, info);
      derived.push(
        new DerivedView(info, view, {
          bus,
          paths: options.paths,
          lookup: (key) => cache.get(key),
          keys: () => cache.keys(),
          onFrame: () => {
            derivedFrames.set(name, (derivedFrames.get(name) ?? 0) + 1);
            framesInBatch++;
          },
        }),
      );
    }
    entities.set(name, {
      name,
      cache,
      appendSet: new Set(definition.append ?? []),
      baseViews,
      derived,
      spanAttributes: Object.freeze({ entity: name }),
      applied: 0,
    });
  }
  const derivedById = new Map(
    [...entities.values()].flatMap((e) => e.derived.map((d) => [d.info.id, d] as const)),
  );

  const tracing = options.tracing ?? noopTracing;
  const batchLogIntervalMs = options.batchLogIntervalMs ?? 1000;
  const ownsMutations = options.ownsMutations ?? false;
  let lastBatchLine = -Infinity;
  let unlogged = 0;

  function applyMutation(views: EntityViews, mutation: Mutation, span: OpenSpan | undefined): void {
    // Frames first, from the patch as it came: merging may hand the patch's values to the
    // cache (ownsMutations), and later merges change cached values in place.
    publishPatchFrames(views, mutation, span);
    const cached = views.cache.get(mutation.key);
    const patch = mutation.patch as Entity;
    let merged: Entity;
    if (ownsMutations) {
      merged = cached === undefined
        ? adoptPatch(patch)
        : mergeOwnedPatch(cached, patch, views.appendSet);
    } else {
      merged = cached === undefined
        ? clonePatchValue(patch) as Entity
        : mergePatch(cached, patch, views.appendSet);
    }
    views.cache.set(mutation.key, merged);
    // Derived views sort by the merged entity.
    for (const derived of views.derived) {
      if (span === undefined || derived.windowCount === 0) derived.update(mutation.key);
      else {
        publishInSpan(
          span,
          { view: derived.info.id, mode: derived.info.mode },
          () => derived.update(mutation.key),
        );
      }
    }
    views.applied++;
  }

  /** One patch frame per base view with subscribers; the data serialised once for all. */
  function publishPatchFrames(
    views: EntityViews,
    mutation: Mutation,
    span: OpenSpan | undefined,
  ): void {
    let dataJson: string | undefined;
    for (const view of views.baseViews) {
      if (!bus.hasSubscribers(view.id)) continue;
      const data = dataJson ??= JSON.stringify(mutation.patch);
      const frame = {
        key: mutation.key,
        bytes: view.encode(mutation.key, data, mutation.append, mutation.seq),
      };
      if (span === undefined) bus.publish(view.id, frame);
      else publishInSpan(span, view.spanAttributes, () => bus.publish(view.id, frame));
      view.frames++;
      framesInBatch++;
    }
  }

  function publishInSpan(parent: OpenSpan, attributes: SpanAttributes, send: () => void): void {
    const span = tracing.startSpan("projector.publish", attributes, { parentSpan: parent });
    try {
      send();
    } finally {
      span.end();
    }
  }

  /**
   * Applies one mutation, inside a `projector.mutation` span when its event has one. With
   * `trace`, logs it (inside that span, so the line carries the event's trace).
   */
  function apply(mutation: Mutation, parent: OpenSpan | undefined, trace: boolean): void {
    const views = entities.get(mutation.entity);
    if (views === undefined) throw new TypeError(`Unknown entity "${mutation.entity}"`);
    const framesBefore = framesInBatch;
    if (parent === undefined) {
      applyMutation(views, mutation, undefined);
      if (trace) traceMutation(mutation, framesInBatch - framesBefore);
      return;
    }
    const span = tracing.startSpan("projector.mutation", views.spanAttributes, {
      parentSpan: parent,
    });
    try {
      applyMutation(views, mutation, span);
      if (trace) span.run(() => traceMutation(mutation, framesInBatch - framesBefore));
    } catch (error) {
      span.recordError(error);
      throw error;
    } finally {
      span.end();
    }
  }

  function traceMutation(mutation: Mutation, frames: number): void {
    log.trace("Applied mutation to {entity} {key}: {frames} frames", {
      entity: mutation.entity,
      key: mutation.key,
      frames,
      ...(mutation.seq === undefined ? {} : { seq: mutation.seq }),
      ...(mutation.append.length === 0 ? {} : { append: mutation.append.length }),
    });
  }

  /** Frames one mutation of `entity` fans out to: one per listener of each base view. */
  function fanoutOf(entity: string): number {
    let frames = 0;
    for (const view of entities.get(entity)?.baseViews ?? []) {
      frames += bus.listenerCount(view.id);
    }
    return frames;
  }

  /**
   * Reports the batch's per-label counts to telemetry, once per label set, and resets them;
   * with `debug`, returns them per entity for the batch's debug line.
   */
  function reportCounts(debug: boolean): Record<string, EntityWork> | undefined {
    const work: Record<string, EntityWork> | undefined = debug ? {} : undefined;
    for (const views of entities.values()) {
      if (work !== undefined && views.applied > 0) work[views.name] = entityWork(views);
      if (views.applied > 0) telemetry.mutationsProcessed(views.name, views.applied);
      views.applied = 0;
      for (const view of views.baseViews) {
        if (view.frames > 0) telemetry.framePublished(view.mode, views.name, view.frames);
        view.frames = 0;
      }
    }
    for (const [entity, count] of derivedFrames) telemetry.framePublished("list", entity, count);
    derivedFrames.clear();
    return work;
  }

  function entityWork(views: EntityViews): EntityWork {
    const work: EntityWork = { mutations: views.applied, cached: views.cache.size };
    for (const view of views.baseViews) if (view.frames > 0) work[view.mode] = view.frames;
    const derived = derivedFrames.get(views.name) ?? 0;
    if (derived > 0) work.derived = derived;
    return work;
  }

  /**
   * Applies a batch detached from the active span: it holds many events' mutations (each
   * `projector.mutation` span names its own parent), and the caller's context would give
   * the batch's lines, and the sends it starts, the trace of whichever event came first.
   */
  function applyBatch(
    batch: readonly Mutation[],
    parents: readonly (OpenSpan | undefined)[] | undefined,
  ): void {
    const started = clock.monotonic();
    framesInBatch = 0;
    let errors = 0;
    // Read once per batch: LogTape's configuration does not change within one.
    const trace = log.isEnabledFor("trace");
    const debug = trace || log.isEnabledFor("debug");
    for (let i = 0; i < batch.length; i++) {
      const mutation = batch[i]!;
      try {
        apply(mutation, parents?.[i], trace);
      } catch (error) {
        errors++;
        telemetry.viewError(mutation.entity);
        log.error("Failed to process mutation: {error}", {
          error,
          entity: mutation.entity,
          key: mutation.key,
        });
      }
    }
    const work = reportCounts(debug);
    const durationMs = clock.monotonic() - started;
    telemetry.batchDone(durationMs / 1000);
    logBatch(batch.length, errors, durationMs, work);
  }

  /**
   * The canonical batch line: at info at most once per batchLogIntervalMs, carrying how
   * many batches went unlogged since the last one, so it stays readable under load; every
   * batch is at debug. A batch with errors is always logged. Logged outside any span: the
   * line sums many events' work, so the trace of any one of them would be a wrong link.
   */
  function logBatch(
    size: number,
    errors: number,
    durationMs: number,
    work: Record<string, EntityWork> | undefined,
  ): void {
    const now = clock.monotonic();
    const info = errors > 0 || now - lastBatchLine >= batchLogIntervalMs;
    if (!info && work === undefined) {
      unlogged++;
      return;
    }
    const fields = {
      phase: "projector",
      batch_size: size,
      frames_published: framesInBatch,
      errors,
      duration_ms: Number(durationMs.toFixed(3)),
    };
    if (info) {
      log.info("Projector batch processed", { ...fields, batches_since_last: unlogged + 1 });
      lastBatchLine = now;
      unlogged = 0;
    } else {
      unlogged++;
      log.debug("Projector batch processed", { ...fields, entities: work });
    }
  }

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

  const directory: ViewDirectory = {
    describe: (view) => views.get(view),
    snapshot(view, query) {
      const info = views.get(view);
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

  return {
    apply(mutations, parents) {
      if (mutations.length === 0) return;
      tracing.detached(() => applyBatch(mutations, parents));
    },
    fanoutOf,
    directory,
    viewIds: Object.freeze([...views.keys()]),
    exportState: () => exportCaches(entities.values()),
    importState: (state) => importCaches(entities.values(), state),
  };
}
