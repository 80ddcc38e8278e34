import type { Logger } from "../log/mod.ts";
import type { OpenSpan, Tracing } from "../telemetry/mod.ts";
import {
  adoptPatch,
  clonePatchValue,
  mergeOwnedPatch,
  mergePatch,
  type Mutation,
} from "../vm/mod.ts";
import type { BatchCounts } from "./batch_report.ts";
import type { Entity, EntityViews } from "./entity_views.ts";
import type { ViewFailure, ViewPublisher } from "./view_publisher.ts";

/** What applying mutations needs. */
export interface MutationApplierOptions {
  readonly entities: ReadonlyMap<string, EntityViews>;
  readonly publisher: ViewPublisher;
  readonly tracing: Tracing;
  readonly log: Logger;
  /** The batch's counts: a mutation's trace line gives the frames it caused. */
  readonly counts: BatchCounts;
  /** Whether a mutation's patch values may become the cache's (see `ProjectorOptions`). */
  readonly ownsMutations: boolean;
  /** The entity's views, when its cache could not take a mutation (every view reads it). */
  readonly onViewFailure: ViewFailure;
}

/** Applies one mutation at a time to its entity's cache and views, publishing their frames. */
export class MutationApplier {
  readonly #entities: ReadonlyMap<string, EntityViews>;
  readonly #publisher: ViewPublisher;
  readonly #tracing: Tracing;
  readonly #log: Logger;
  readonly #counts: BatchCounts;
  readonly #ownsMutations: boolean;
  readonly #onViewFailure: ViewFailure;

  constructor(options: MutationApplierOptions) {
    this.#entities = options.entities;
    this.#publisher = options.publisher;
    this.#tracing = options.tracing;
    this.#log = options.log;
    this.#counts = options.counts;
    this.#ownsMutations = options.ownsMutations;
    this.#onViewFailure = options.onViewFailure;
  }

  /**
   * Applies one mutation, inside a `projector.mutation` span when its event has one. With
   * `trace`, logs it (inside that span, so the line carries the event's trace). A view that
   * fails is reported (`onViewFailure`) and the others still updated; a mutation of an entity
   * the stack does not have throws (it has no view to fail).
   */
  apply(mutation: Mutation, parent: OpenSpan | undefined, trace: boolean): void {
    const views = this.#entities.get(mutation.entity);
    if (views === undefined) throw new TypeError(`Unknown entity "${mutation.entity}"`);
    const framesBefore = this.#counts.frames;
    if (parent === undefined) {
      this.#applyMutation(views, mutation, undefined);
      if (trace) this.#traceMutation(mutation, this.#counts.frames - framesBefore);
      return;
    }
    const span = this.#tracing.startSpan("projector.mutation", views.spanAttributes, {
      parentSpan: parent,
    });
    try {
      this.#applyMutation(views, mutation, span);
      if (trace) span.run(() => this.#traceMutation(mutation, this.#counts.frames - framesBefore));
    } catch (error) {
      span.recordError(error);
      throw error;
    } finally {
      span.end();
    }
  }

  #applyMutation(views: EntityViews, mutation: Mutation, span: OpenSpan | undefined): void {
    // Frames first, from the patch as it came: merging may hand the patch's values to the
    // cache (ownsMutations), and later merges change cached values in place. Views with a row
    // rule send theirs after the merge, which decides the row's group: what they need from
    // before it is taken now.
    const ruled = views.ruledViews.length === 0
      ? undefined
      : this.#publisher.beforeMerge(views, mutation, views.cache.get(mutation.key));
    this.#publisher.publishPatch(views, mutation, span);
    let merged: Entity;
    try {
      merged = this.#merged(views, mutation);
    } catch (error) {
      // The cache every view of the entity reads (snapshots, derived windows) missed it.
      span?.recordError(error);
      this.#onViewFailure(views.viewIds, mutation, error);
      return;
    }
    views.cache.set(mutation.key, merged);
    if (ruled !== undefined) this.#publisher.publishRuled(views, mutation, ruled, merged, span);
    // Derived views sort by the merged entity.
    this.#publisher.updateDerived(views, mutation, span);
    views.applied++;
  }

  /** The cached entity with the mutation's patch merged in. */
  #merged(views: EntityViews, mutation: Mutation): Entity {
    const cached = views.cache.get(mutation.key);
    const patch = mutation.patch as Entity;
    if (this.#ownsMutations) {
      return cached === undefined
        ? adoptPatch(patch)
        : mergeOwnedPatch(cached, patch, views.appendSet);
    }
    return cached === undefined
      ? clonePatchValue(patch) as Entity
      : mergePatch(cached, patch, views.appendSet);
  }

  #traceMutation(mutation: Mutation, frames: number): void {
    this.#log.trace("Applied mutation to {entity} {key}: {frames} frames", {
      entity: mutation.entity,
      key: mutation.key,
      frames,
      ...(mutation.seq === undefined ? {} : { seq: mutation.seq }),
      ...(mutation.append.length === 0 ? {} : { append: mutation.append.length }),
    });
  }
}
