import type { EventTracingConfig } from "../config/mod.ts";
import type { PharosEvent } from "../stack/mod.ts";
import { type Clock, TokenBucket } from "../util/mod.ts";

/**
 * Chooses the events that get the per-event span tree (`vm.process_event` →
 * `projector.mutation` → `projector.publish`): every event whose producer sent a
 * `traceparent`, and one in every `1 / eventRatio` of the others, while a token bucket of
 * `eventsPerSecond` (refilled continuously, holding one second's worth) has a token. The
 * rest are found through their batch span. At 60 000 events/s a tree per event was 180 000
 * spans/s, a third of the throughput spent encoding them (issue 24): the bucket makes the
 * cost independent of the event rate.
 */
export class EventTreeChooser {
  readonly #trees: TokenBucket;
  /** Untraced events between two sampled ones; Infinity when the ratio is 0. */
  readonly #every: number;
  /** Untraced events since the last one sampled. */
  #counter: number;

  constructor(clock: Clock, config: EventTracingConfig) {
    this.#trees = new TokenBucket(clock, config.eventsPerSecond);
    this.#every = config.eventRatio > 0 ? Math.max(1, Math.round(1 / config.eventRatio)) : Infinity;
    // The first untraced event is sampled: whoever sends one event to try it finds its trace.
    this.#counter = this.#every === Infinity ? 0 : this.#every - 1;
  }

  /**
   * Whether any of `events` from `from` on may get a tree: a slice asks the VM for its
   * per-event timings only then. Reads the clock once; stops at the first traced event.
   */
  mayChoose(events: readonly PharosEvent[], from: number): boolean {
    if (!this.#trees.hasToken()) return false;
    if (this.#counter + (events.length - from) >= this.#every) return true;
    for (let i = from; i < events.length; i++) {
      if (events[i]!.traceparent !== undefined) return true;
    }
    return false;
  }

  /** Whether `event` gets a tree; call once per event, in order, after `mayChoose`. */
  choose(event: PharosEvent): boolean {
    if (event.traceparent === undefined) {
      if (++this.#counter < this.#every) return false;
      this.#counter = 0;
    }
    return this.#trees.takeRefilled();
  }

  /** Counts `count` events that ran without being offered to {@link choose}. */
  skipped(count: number): void {
    if (this.#every !== Infinity) this.#counter = Math.min(this.#counter + count, this.#every - 1);
  }
}
