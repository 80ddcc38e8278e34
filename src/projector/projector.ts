import type { Bus, ViewDirectory } from "../bus/mod.ts";
import { PROJECTOR_DEFAULTS } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Stack } from "../stack/mod.ts";
import {
  noopTracing,
  type OpenSpan,
  type ProjectorTelemetry,
  type Tracing,
} from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { Mutation, PathCache } from "../vm/mod.ts";
import { BatchCounts, BatchLine } from "./batch_report.ts";
import { exportCaches, importCaches, type ProjectorState } from "./cache_state.ts";
import { DeliveryStamps } from "./delivery_stamps.ts";
import { createViewTable } from "./entity_views.ts";
import { MutationApplier } from "./mutation_applier.ts";
import { createViewDirectory } from "./view_directory.ts";
import { type ViewFailure, ViewPublisher } from "./view_publisher.ts";

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
  apply(
    mutations: readonly Mutation[],
    parents?: readonly (OpenSpan | undefined)[],
    options?: ApplyOptions,
  ): void;
  /** Frames one mutation of `entity` fans out to now (listeners of its base views). */
  fanoutOf(entity: string): number;
  /** Snapshot reads for subscribing sessions. */
  readonly directory: ViewDirectory;
  /** The id of every view (`Token/list`, `Token/latest`, …), base views first per entity. */
  readonly viewIds: readonly string[];
  /** Views with a row rule (`/status`'s `auth.row_rules`). */
  readonly rowRuleCount: number;
  /** Every view cache: a cluster checkpoint's part. */
  exportState(): ProjectorState;
  /** Replaces every view cache with a checkpoint's; no frames are sent. */
  importState(state: ProjectorState): void;
}

/** What else a batch comes with (see {@link Projector.apply}). */
export interface ApplyOptions {
  /**
   * When the oldest event behind the batch reached the pipeline (the clock's monotonic ms):
   * its frames carry it to the clients' sockets, which measure the delivery lag from it.
   * Default none: the frames carry no arrival and no lag is measured.
   */
  readonly arrivedAt?: number;
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

/** Creates the projector for one stack. */
export function createProjector(options: ProjectorOptions): Projector {
  const { bus, clock, log, telemetry } = options;
  const tracing = options.tracing ?? noopTracing;
  const counts = new BatchCounts(telemetry);
  const stamps = new DeliveryStamps(bus);
  const table = createViewTable(options.stack, {
    bus,
    paths: options.paths,
    telemetry,
    counts,
    stamps,
    cacheSize: options.cacheSize ?? PROJECTOR_DEFAULTS.cacheSize,
  });
  const { entities } = table;
  let errors = 0; // mutations that failed, in the current batch
  // A view is counted once per mutation: a patch that cannot be read fails its frames, then
  // the cache (every view) too.
  let failing: { readonly mutation: Mutation; readonly views: Set<string> } | undefined;
  const onViewFailure: ViewFailure = (views, mutation, error) => {
    if (failing?.mutation !== mutation) {
      failing = { mutation, views: new Set() };
      errors++;
    }
    for (const view of views) {
      if (failing.views.has(view)) continue;
      failing.views.add(view);
      telemetry.viewError(view);
    }
    log.error("Failed to process mutation: {error}", {
      error,
      entity: mutation.entity,
      key: mutation.key,
      views: views.join(", "),
    });
  };
  const applier = new MutationApplier({
    entities,
    publisher: new ViewPublisher({
      bus,
      tracing,
      paths: options.paths,
      counts,
      stamps,
      onViewFailure,
    }),
    tracing,
    log,
    counts,
    ownsMutations: options.ownsMutations ?? false,
    onViewFailure,
  });
  const batchLine = new BatchLine({
    clock,
    log,
    intervalMs: options.batchLogIntervalMs ?? 1000,
    counts,
  });

  /**
   * Applies a batch detached from the active span: it holds many events' mutations (each
   * `projector.mutation` span names its own parent), and the caller's context would give
   * the batch's lines, and the sends it starts, the trace of whichever event came first.
   */
  function applyBatch(
    batch: readonly Mutation[],
    parents: readonly (OpenSpan | undefined)[] | undefined,
    arrivedAt: number | undefined,
  ): number {
    const started = clock.monotonic();
    counts.frames = 0;
    stamps.begin(arrivedAt);
    errors = 0;
    // Read once per batch: LogTape's configuration does not change within one.
    const trace = log.isEnabledFor("trace");
    const debug = trace || log.isEnabledFor("debug");
    for (let i = 0; i < batch.length; i++) {
      const mutation = batch[i]!;
      try {
        applier.apply(mutation, parents?.[i], trace);
      } catch (error) {
        // No view failed (those are reported by the applier): an entity the stack lacks.
        errors++;
        log.error("Failed to process mutation: {error}", {
          error,
          entity: mutation.entity,
          key: mutation.key,
        });
      }
    }
    failing = undefined; // holds no mutation past its batch
    const work = counts.report(entities.values(), debug);
    const durationMs = clock.monotonic() - started;
    batchLine.write(batch.length, errors, durationMs, work);
    return durationMs;
  }

  /**
   * Frames one mutation of `entity` fans out to: one per listener of each base view. A view
   * with a row rule reaches one group's listeners, counted as the group its last frame went
   * to had (which group the next goes to is not known before the mutation runs).
   */
  function fanoutOf(entity: string): number {
    let frames = 0;
    for (const view of entities.get(entity)?.baseViews ?? []) {
      frames += view.rule === undefined ? bus.listenerCount(view.id) : view.groupFanout;
    }
    return frames;
  }

  return {
    apply(mutations, parents, applyOptions) {
      if (mutations.length === 0) return;
      const durationMs = tracing.detached(() =>
        applyBatch(mutations, parents, applyOptions?.arrivedAt)
      );
      // Recorded in the caller's span (the pipeline's batch span), the latency's exemplar.
      telemetry.batchDone(durationMs / 1000);
    },
    fanoutOf,
    directory: createViewDirectory(table, options.paths),
    viewIds: Object.freeze([...table.infos.keys()]),
    rowRuleCount: [...table.infos.values()].filter((info) => info.rowRule !== undefined).length,
    exportState: () => exportCaches(entities.values()),
    importState: (state) => importCaches(entities.values(), state),
  };
}
