import type {
  Bus,
  SnapshotEntity,
  SnapshotQuery,
  ViewDirectory,
  ViewInfo,
  ViewMode,
} from "../bus/mod.ts";
import type { Logger } from "../log/mod.ts";
import { compareSeq, type Stack } from "../stack/mod.ts";
import { noopTracing, type ProjectorTelemetry, type Tracing } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import { LruMap } from "../util/mod.ts";
import { clonePatchValue, mergePatch, type Mutation, type PathCache } from "../vm/mod.ts";
import { DerivedView } from "./derived_view.ts";
import { encodePatchFrame } from "./frames.ts";

type Entity = Record<string, unknown>;

interface EntityViews {
  readonly name: string;
  /** Shared by E/list, E/state and E/append: they receive identical updates. */
  readonly cache: LruMap<string, Entity>;
  readonly appendSet: ReadonlySet<string>;
  readonly baseViews: readonly { readonly id: string; readonly mode: ViewMode }[];
  readonly derived: readonly DerivedView[];
}

/** Batches mutations into view caches and publishes frames to the bus. */
export interface Projector extends Disposable {
  /**
   * Queues mutations; they are applied when the batch fills or its delay passes.
   * `trace` (a W3C traceparent, usually the `vm.process_event` span's) parents their
   * `projector.mutation` spans, so each event's trace continues across the batch.
   */
  push(mutations: readonly Mutation[], trace?: string): void;
  /** Applies every queued mutation now. */
  flush(): void;
  /** Mutations waiting for their batch. */
  readonly pending: number;
  /** Snapshot reads for subscribing sessions. */
  readonly directory: ViewDirectory;
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
  /** Entities cached per view; default 500. */
  readonly cacheSize?: number;
  /** Mutations per batch; default 256. */
  readonly batchMaxSize?: number;
  /** Longest wait for a batch to fill, ms; default 2. */
  readonly batchDelayMs?: number;
  /**
   * Frames a batch may fan out to (mutations × listeners of their views) before it is
   * flushed early; default 8192. Publishing is synchronous, so this bounds how long one
   * flush holds the thread when thousands of clients listen (about 1 ms at the default).
   */
  readonly batchMaxFrames?: number;
  /** Least time between two info-level batch lines, ms; default 1000. */
  readonly batchLogIntervalMs?: number;
}

interface Queued {
  readonly mutation: Mutation;
  readonly trace: string | undefined;
}

function seqOf(entity: Entity): string | undefined {
  return typeof entity._seq === "string" ? entity._seq : undefined;
}

/** Creates the projector for one stack. */
export function createProjector(options: ProjectorOptions): Projector {
  const { bus, clock, log, telemetry } = options;
  const cacheSize = options.cacheSize ?? 500;
  const batchMaxSize = options.batchMaxSize ?? 256;
  const batchDelayMs = options.batchDelayMs ?? 2;
  const batchMaxFrames = options.batchMaxFrames ?? 4096;
  const entities = new Map<string, EntityViews>();
  const views = new Map<string, ViewInfo>();
  let framesInBatch = 0;

  for (const [name, definition] of Object.entries(options.stack.entities)) {
    const derived: DerivedView[] = [];
    const cache = new LruMap<string, Entity>(cacheSize, (key) => {
      telemetry.viewCacheEviction(name);
      for (const view of derived) view.update(key, true);
    });
    const baseViews = [
      { id: `${name}/list`, mode: "list" as const },
      { id: `${name}/state`, mode: "state" as const },
      { id: `${name}/append`, mode: "append" as const },
    ];
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
        defaultTake: view.take ?? 100,
      };
      views.set(info.id, info);
      derived.push(
        new DerivedView(info, view, {
          bus,
          paths: options.paths,
          lookup: (key) => cache.get(key),
          onFrame: () => {
            telemetry.framePublished("list", name);
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
    });
  }
  const derivedById = new Map(
    [...entities.values()].flatMap((e) => e.derived.map((d) => [d.info.id, d] as const)),
  );

  const tracing = options.tracing ?? noopTracing;
  let queue: Queued[] = [];
  let queuedFrames = 0;
  const batchLogIntervalMs = options.batchLogIntervalMs ?? 1000;
  let lastBatchLine = -Infinity;
  let unlogged = 0;
  let timer: Disposable | undefined;

  function publish(view: string, mode: string, send: () => void): void {
    tracing.inSpan("projector.publish", { view, mode }, send);
  }

  function apply({ mutation, trace }: Queued): void {
    tracing.inSpan(
      "projector.mutation",
      { entity: mutation.entity },
      () => applyMutation(mutation),
      trace === undefined ? {} : { parent: trace },
    );
  }

  function applyMutation(mutation: Mutation): void {
    const views = entities.get(mutation.entity);
    if (views === undefined) throw new TypeError(`Unknown entity "${mutation.entity}"`);
    const cached = views.cache.get(mutation.key);
    const merged = cached === undefined
      ? clonePatchValue(mutation.patch) as Entity
      : mergePatch(cached, mutation.patch, views.appendSet);
    views.cache.set(mutation.key, merged);
    let dataJson: string | undefined;
    for (const view of views.baseViews) {
      if (!bus.hasSubscribers(view.id)) continue;
      const data = dataJson ??= JSON.stringify(mutation.patch);
      publish(view.id, view.mode, () =>
        bus.publish(view.id, {
          key: mutation.key,
          bytes: encodePatchFrame(
            view.mode,
            view.id,
            mutation.key,
            data,
            mutation.append,
            mutation.seq,
          ),
        }));
      telemetry.framePublished(view.mode, views.name);
      framesInBatch++;
    }
    for (const derived of views.derived) {
      if (derived.windowCount === 0) derived.update(mutation.key);
      else publish(derived.info.id, derived.info.mode, () => derived.update(mutation.key));
    }
  }

  /** Frames `mutation` will be delivered as: one per listener of each base view. */
  function fanoutOf(mutation: Mutation): number {
    let frames = 0;
    for (const view of entities.get(mutation.entity)?.baseViews ?? []) {
      frames += bus.listenerCount(view.id);
    }
    return frames;
  }

  function flush(): void {
    timer?.[Symbol.dispose]();
    timer = undefined;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    queuedFrames = 0;
    const started = clock.monotonic();
    framesInBatch = 0;
    let errors = 0;
    const perEntity = new Map<string, number>();
    for (const queued of batch) {
      const mutation = queued.mutation;
      try {
        apply(queued);
        perEntity.set(mutation.entity, (perEntity.get(mutation.entity) ?? 0) + 1);
      } catch (error) {
        errors++;
        telemetry.viewError(mutation.entity);
        log.error("Failed to process mutation: {error}", {
          error,
          entity: mutation.entity,
        });
      }
    }
    for (const [entity, count] of perEntity) telemetry.mutationsProcessed(entity, count);
    const durationMs = clock.monotonic() - started;
    telemetry.batchDone(durationMs / 1000);
    const fields = {
      phase: "projector",
      batch_size: batch.length,
      frames_published: framesInBatch,
      errors,
      duration_ms: Number(durationMs.toFixed(3)),
    };
    // The canonical batch line: at info at most once per batchLogIntervalMs, carrying how
    // many batches went unlogged since the last one, so it stays readable under load;
    // every batch is at debug. A batch with errors is always logged.
    const now = clock.monotonic();
    if (errors > 0 || now - lastBatchLine >= batchLogIntervalMs) {
      log.info("Projector batch processed", { ...fields, batches_since_last: unlogged + 1 });
      lastBatchLine = now;
      unlogged = 0;
    } else {
      unlogged++;
      log.debug("Projector batch processed", fields);
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
    push(mutations, trace) {
      for (const mutation of mutations) {
        queue.push({ mutation, trace });
        queuedFrames += fanoutOf(mutation);
      }
      if (queue.length >= batchMaxSize || queuedFrames >= batchMaxFrames) flush();
      else if (queue.length > 0 && timer === undefined) timer = clock.setTimer(batchDelayMs, flush);
    },
    flush,
    get pending() {
      return queue.length;
    },
    directory,
    [Symbol.dispose]() {
      flush();
    },
  };
}
