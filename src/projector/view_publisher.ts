import type { Bus } from "../bus/mod.ts";
import type { OpenSpan, SpanAttributes, Tracing } from "../telemetry/mod.ts";
import type { Mutation } from "../vm/mod.ts";
import type { BatchCounts } from "./batch_report.ts";
import type { DeliveryStamps } from "./delivery_stamps.ts";
import type { EntityViews } from "./entity_views.ts";

/**
 * Told that `views` (ids) failed to take `mutation`: each is counted in
 * `projector_view_errors_total{view}`, and the failure logged once.
 */
export type ViewFailure = (views: readonly string[], mutation: Mutation, error: unknown) => void;

/** What publishing a mutation's frames needs. */
export interface ViewPublisherOptions {
  readonly bus: Bus;
  readonly tracing: Tracing;
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
  readonly #counts: BatchCounts;
  readonly #stamps: DeliveryStamps;
  readonly #onViewFailure: ViewFailure;

  constructor(options: ViewPublisherOptions) {
    this.#bus = options.bus;
    this.#tracing = options.tracing;
    this.#counts = options.counts;
    this.#stamps = options.stamps;
    this.#onViewFailure = options.onViewFailure;
  }

  /** One patch frame per base view with subscribers; the data serialised once for all. */
  publishPatch(views: EntityViews, mutation: Mutation, span: OpenSpan | undefined): void {
    const bus = this.#bus;
    let dataJson: string | undefined;
    for (const view of views.baseViews) {
      if (!bus.hasSubscribers(view.id)) continue;
      try {
        const data = dataJson ??= JSON.stringify(mutation.patch);
        const frame = {
          key: mutation.key,
          bytes: view.encode(mutation.key, data, mutation.append, mutation.seq),
          stamp: this.#stamps.for(view.id, view.id),
        };
        if (span === undefined) bus.publish(view.id, frame);
        else this.#inSpan(span, view.spanAttributes, () => bus.publish(view.id, frame));
        view.frames++;
        this.#counts.frames++;
      } catch (error) {
        this.#failed(view.id, mutation, error, span);
      }
    }
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
