import type { Logger } from "../log/mod.ts";
import type { ProjectorTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { EntityViews } from "./entity_views.ts";

/**
 * One entity's share of a batch, on the batch's debug line: mutations applied, entities
 * cached after it, and frames published per view mode (`list`, `state`, `append`,
 * `derived`), those with none left out.
 */
export interface EntityWork {
  mutations: number;
  cached: number;
  list?: number;
  state?: number;
  append?: number;
  derived?: number;
}

/**
 * What the current batch published, counted as it runs and reported once at its end. The
 * mutations and base-view frames are counted on their views (`applied`, `frames`); this
 * holds the batch's total and the derived views' frames.
 */
export class BatchCounts {
  /** Frames published in the current batch, every view; the batch resets it. */
  frames = 0;
  readonly #telemetry: ProjectorTelemetry;
  // Frames counted per batch and reported once per batch and label set: a metric add per
  // frame hashed its attributes each time, a visible share of the event path.
  readonly #derivedFrames = new Map<string, number>();

  constructor(telemetry: ProjectorTelemetry) {
    this.#telemetry = telemetry;
  }

  /** Counts one frame a derived view of `entity` published. */
  derivedFrame(entity: string): void {
    this.#derivedFrames.set(entity, (this.#derivedFrames.get(entity) ?? 0) + 1);
    this.frames++;
  }

  /**
   * Reports the batch's per-label counts to telemetry, once per label set, and resets them;
   * with `debug`, returns them per entity for the batch's debug line.
   */
  report(
    entities: Iterable<EntityViews>,
    debug: boolean,
  ): Record<string, EntityWork> | undefined {
    const telemetry = this.#telemetry;
    const work: Record<string, EntityWork> | undefined = debug ? {} : undefined;
    for (const views of entities) {
      if (work !== undefined && views.applied > 0) work[views.name] = this.#entityWork(views);
      if (views.applied > 0) telemetry.mutationsProcessed(views.name, views.applied);
      views.applied = 0;
      for (const view of views.baseViews) {
        if (view.frames > 0) telemetry.framePublished(view.mode, views.name, view.frames);
        view.frames = 0;
      }
    }
    for (const [entity, count] of this.#derivedFrames) {
      telemetry.framePublished("list", entity, count);
    }
    this.#derivedFrames.clear();
    return work;
  }

  #entityWork(views: EntityViews): EntityWork {
    const work: EntityWork = { mutations: views.applied, cached: views.cache.size };
    for (const view of views.baseViews) if (view.frames > 0) work[view.mode] = view.frames;
    const derived = this.#derivedFrames.get(views.name) ?? 0;
    if (derived > 0) work.derived = derived;
    return work;
  }
}

/** What the batch line needs. */
export interface BatchLineOptions {
  readonly clock: Clock;
  readonly log: Logger;
  /** Least time between two info-level batch lines, ms. */
  readonly intervalMs: number;
  /** The batch's frames, read when its line is written. */
  readonly counts: BatchCounts;
}

/**
 * The canonical batch line: at info at most once per `intervalMs` (the projector's
 * `batchLogIntervalMs`), carrying how many batches went unlogged since the last one, so it
 * stays readable under load; every batch is at debug. A batch with errors is always logged. Logged outside any span: the
 * line sums many events' work, so the trace of any one of them would be a wrong link.
 */
export class BatchLine {
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #counts: BatchCounts;
  #lastLineAt = -Infinity;
  #unlogged = 0;

  constructor(options: BatchLineOptions) {
    this.#clock = options.clock;
    this.#log = options.log;
    this.#intervalMs = options.intervalMs;
    this.#counts = options.counts;
  }

  /** Logs a batch of `size` mutations (or counts it as unlogged); `work` when at debug. */
  write(
    size: number,
    errors: number,
    durationMs: number,
    work: Record<string, EntityWork> | undefined,
  ): void {
    const now = this.#clock.monotonic();
    const info = errors > 0 || now - this.#lastLineAt >= this.#intervalMs;
    if (!info && work === undefined) {
      this.#unlogged++;
      return;
    }
    const fields = {
      phase: "projector",
      batch_size: size,
      frames_published: this.#counts.frames,
      errors,
      duration_ms: Number(durationMs.toFixed(3)),
    };
    if (info) {
      this.#log.info("Projector batch processed", {
        ...fields,
        batches_since_last: this.#unlogged + 1,
      });
      this.#lastLineAt = now;
      this.#unlogged = 0;
    } else {
      this.#unlogged++;
      this.#log.debug("Projector batch processed", { ...fields, entities: work });
    }
  }
}
