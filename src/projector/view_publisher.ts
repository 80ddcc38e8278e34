import type { Bus } from "../bus/mod.ts";
import type { OpenSpan, SpanAttributes, Tracing } from "../telemetry/mod.ts";
import type { Mutation } from "../vm/mod.ts";
import type { BatchCounts } from "./batch_report.ts";
import type { DeliveryStamps } from "./delivery_stamps.ts";
import type { EntityViews } from "./entity_views.ts";

/** What publishing a mutation's frames needs. */
export interface ViewPublisherOptions {
  readonly bus: Bus;
  readonly tracing: Tracing;
  /** The batch's counts, which every base-view frame adds to. */
  readonly counts: BatchCounts;
  /** The batch's arrival stamps, which every frame carries. */
  readonly stamps: DeliveryStamps;
}

/**
 * Publishes what one mutation changes in its entity's views to the bus: its patch to the
 * base views, the window changes of the derived ones. Each send goes inside a
 * `projector.publish` span when the mutation has a span.
 */
export class ViewPublisher {
  readonly #bus: Bus;
  readonly #tracing: Tracing;
  readonly #counts: BatchCounts;
  readonly #stamps: DeliveryStamps;

  constructor(options: ViewPublisherOptions) {
    this.#bus = options.bus;
    this.#tracing = options.tracing;
    this.#counts = options.counts;
    this.#stamps = options.stamps;
  }

  /** One patch frame per base view with subscribers; the data serialised once for all. */
  publishPatch(views: EntityViews, mutation: Mutation, span: OpenSpan | undefined): void {
    const bus = this.#bus;
    let dataJson: string | undefined;
    for (const view of views.baseViews) {
      if (!bus.hasSubscribers(view.id)) continue;
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
    }
  }

  /** Re-sorts `key` in every derived view, after its entity was merged into the cache. */
  updateDerived(views: EntityViews, key: string, span: OpenSpan | undefined): void {
    for (const derived of views.derived) {
      if (span === undefined || derived.windowCount === 0) derived.update(key);
      else {
        this.#inSpan(
          span,
          { view: derived.info.id, mode: derived.info.mode },
          () => derived.update(key),
        );
      }
    }
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
