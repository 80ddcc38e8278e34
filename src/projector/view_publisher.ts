import type { Bus, BusMessage, FrameOp } from "../bus/mod.ts";
import type { OpenSpan, SpanAttributes, Tracing } from "../telemetry/mod.ts";
import { rowTopic } from "../stack/mod.ts";
import type { Mutation, PathCache } from "../vm/mod.ts";
import type { BatchCounts } from "./batch_report.ts";
import type { DeliveryStamps } from "./delivery_stamps.ts";
import type { BaseView, Entity, EntityViews } from "./entity_views.ts";
import { encodeDeleteFrame, encodeUpsertFrame } from "./frames.ts";
import { rowGroupIn } from "./row_group.ts";

/**
 * Told that `views` (ids) failed to take `mutation`: each is counted in
 * `projector_view_errors_total{view}`, and the failure logged once.
 */
export type ViewFailure = (views: readonly string[], mutation: Mutation, error: unknown) => void;

/** A mutation's ruled views before its merge (see {@link ViewPublisher.beforeMerge}). */
export interface RuledBefore {
  /** Per ruled view (in `ruledViews` order), the row's group before the merge. */
  readonly groups: readonly (string | undefined)[];
  /** Per ruled view, the bus topic of that group (built once per mutation, not per use). */
  readonly topics: readonly (string | undefined)[];
  /** The patch's data, serialised before the merge, when a group's subscribers get it. */
  readonly dataJson: string | undefined;
}

/** What publishing a mutation's frames needs. */
export interface ViewPublisherOptions {
  readonly bus: Bus;
  readonly tracing: Tracing;
  /** Reads the fields row rules compare. */
  readonly paths: PathCache;
  /** The batch's counts, which every base-view frame adds to. */
  readonly counts: BatchCounts;
  /** The batch's arrival stamps, which every frame carries. */
  readonly stamps: DeliveryStamps;
  /** A view that failed; the others still get their frames. */
  readonly onViewFailure: ViewFailure;
}

/**
 * Publishes what one mutation changes in its entity's views to the bus: its patch to the
 * base views, the window changes of the derived ones. Each send goes inside a
 * `projector.publish` span when the mutation has a span. A view that fails is reported by
 * its id and skipped: the entity's other views are still updated.
 */
export class ViewPublisher {
  readonly #bus: Bus;
  readonly #tracing: Tracing;
  readonly #paths: PathCache;
  readonly #counts: BatchCounts;
  readonly #stamps: DeliveryStamps;
  readonly #onViewFailure: ViewFailure;

  constructor(options: ViewPublisherOptions) {
    this.#bus = options.bus;
    this.#tracing = options.tracing;
    this.#paths = options.paths;
    this.#counts = options.counts;
    this.#stamps = options.stamps;
    this.#onViewFailure = options.onViewFailure;
  }

  /**
   * One patch frame per base view without a row rule that has subscribers; the data
   * serialised once for all. Before the merge: it may hand the patch's values to the cache.
   */
  publishPatch(views: EntityViews, mutation: Mutation, span: OpenSpan | undefined): void {
    const bus = this.#bus;
    let dataJson: string | undefined;
    for (const view of views.openViews) {
      if (!bus.hasSubscribers(view.id)) continue;
      try {
        const data = dataJson ??= JSON.stringify(mutation.patch);
        this.#send(
          view,
          view.id,
          mutation,
          () => view.encode(mutation.key, data, mutation.append, mutation.seq),
          span,
        );
      } catch (error) {
        this.#failed(view.id, mutation, error, span);
      }
    }
  }

  /**
   * What the ruled views need from before the merge (the merge may change the cached row in
   * place): each view's row group then, and the patch's data when a group will get it.
   */
  beforeMerge(views: EntityViews, mutation: Mutation, cached: Entity | undefined): RuledBefore {
    const groups: (string | undefined)[] = [];
    const topics: (string | undefined)[] = [];
    let dataJson: string | undefined;
    for (const view of views.ruledViews) {
      const group = rowGroupIn(this.#paths, cached, view.rule!.field);
      const topic = group === undefined ? undefined : rowTopic(view.id, group);
      groups.push(group);
      topics.push(topic);
      if (topic !== undefined && this.#bus.hasSubscribers(topic)) {
        dataJson ??= JSON.stringify(mutation.patch);
      }
    }
    return { groups, topics, dataJson };
  }

  /**
   * The ruled views' frames, after the merge, each on its row group's topic: the patch when
   * the row stays in its group; when its group changed, a `delete` to the group it left and
   * the whole row (`upsert`) to the one it entered. Encoded once per group, whatever the
   * number of clients in it.
   */
  publishRuled(
    views: EntityViews,
    mutation: Mutation,
    before: RuledBefore,
    merged: Entity,
    span: OpenSpan | undefined,
  ): void {
    const { key } = mutation;
    const ruled = views.ruledViews;
    for (let i = 0; i < ruled.length; i++) {
      const view = ruled[i]!;
      try {
        const was = before.groups[i];
        const wasTopic = before.topics[i];
        const now = rowGroupIn(this.#paths, merged, view.rule!.field);
        if (was === now) {
          if (wasTopic === undefined) continue;
          const data = before.dataJson ?? JSON.stringify(mutation.patch);
          this.#sendToGroup(
            view,
            wasTopic,
            mutation,
            span,
            () => view.encode(key, data, mutation.append, mutation.seq),
          );
          continue;
        }
        if (was !== undefined && mutation.seq !== undefined) {
          view.departures?.record(key, was, mutation.seq);
        }
        if (wasTopic !== undefined) {
          this.#sendToGroup(
            view,
            wasTopic,
            mutation,
            span,
            () => encodeDeleteFrame(view.id, key, view.mode),
            "delete",
          );
        }
        if (now !== undefined) {
          this.#sendToGroup(
            view,
            rowTopic(view.id, now),
            mutation,
            span,
            () => encodeUpsertFrame(view.id, key, merged, view.mode),
            "upsert",
          );
        }
      } catch (error) {
        this.#failed(view.id, mutation, error, span);
      }
    }
  }

  /** Publishes on a row group's `topic` when it has listeners, noting their number. */
  #sendToGroup(
    view: BaseView,
    topic: string,
    mutation: Mutation,
    span: OpenSpan | undefined,
    encode: () => Uint8Array,
    op: FrameOp = "patch",
  ): void {
    const listeners = this.#bus.listenerCount(topic);
    if (listeners === 0) return;
    view.groupFanout = listeners;
    this.#send(view, topic, mutation, encode, span, op);
  }

  /** Publishes one base-view frame on `topic`, in a `projector.publish` span under `span`. */
  #send(
    view: BaseView,
    topic: string,
    mutation: Mutation,
    encode: () => Uint8Array,
    span: OpenSpan | undefined,
    op: FrameOp = "patch",
  ): void {
    const stamp = this.#stamps.for(topic, view.id);
    const bytes = encode();
    const frame: BusMessage = op === "patch"
      ? { key: mutation.key, bytes, stamp }
      : { key: mutation.key, bytes, op, stamp };
    if (span === undefined) this.#bus.publish(topic, frame);
    else this.#inSpan(span, view.spanAttributes, () => this.#bus.publish(topic, frame));
    view.frames++;
    this.#counts.frames++;
  }

  /** Re-sorts the mutation's key in every derived view, after its entity was merged. */
  updateDerived(views: EntityViews, mutation: Mutation, span: OpenSpan | undefined): void {
    const { key } = mutation;
    for (const derived of views.derived) {
      try {
        if (span === undefined || derived.windowCount === 0) derived.update(key);
        else {
          this.#inSpan(
            span,
            { view: derived.info.id, mode: derived.info.mode },
            () => derived.update(key),
          );
        }
      } catch (error) {
        this.#failed(derived.info.id, mutation, error, span);
      }
    }
  }

  #failed(view: string, mutation: Mutation, error: unknown, span: OpenSpan | undefined): void {
    span?.recordError(error);
    this.#onViewFailure([view], mutation, error);
  }

  #inSpan(parent: OpenSpan, attributes: SpanAttributes, send: () => void): void {
    const span = this.#tracing.startSpan("projector.publish", attributes, { parentSpan: parent });
    try {
      send();
    } finally {
      span.end();
    }
  }
}
