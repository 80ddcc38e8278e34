import { type Bus, DeliveryStamp } from "../bus/mod.ts";

/**
 * The delivery stamps of the batch being applied: one per topic the batch publishes to,
 * made at its first frame there and shared by the rest (see {@link DeliveryStamp}).
 */
export class DeliveryStamps {
  readonly #bus: Bus;
  #arrivedAt: number | undefined;
  readonly #byTopic = new Map<string, DeliveryStamp>();
  // The last topic asked for: a batch's frames mostly go to one topic after another, so
  // most frames are answered without a map lookup.
  #lastTopic: string | undefined;
  #last: DeliveryStamp | undefined;

  constructor(bus: Bus) {
    this.#bus = bus;
  }

  /**
   * Starts a batch whose oldest event arrived at `arrivedAt` (monotonic ms); undefined for a
   * batch no arrival is known of, whose frames carry no stamp.
   */
  begin(arrivedAt: number | undefined): void {
    this.#arrivedAt = arrivedAt;
    this.#byTopic.clear();
    this.#lastTopic = undefined;
    this.#last = undefined;
  }

  /** The stamp of this batch's frames on `topic`, a topic of view `view`. */
  for(topic: string, view: string): DeliveryStamp | undefined {
    if (this.#arrivedAt === undefined) return undefined;
    if (topic === this.#lastTopic) return this.#last;
    let stamp = this.#byTopic.get(topic);
    if (stamp === undefined) {
      stamp = new DeliveryStamp(view, this.#arrivedAt, this.#bus.listenerCount(topic));
      this.#byTopic.set(topic, stamp);
    }
    this.#lastTopic = topic;
    this.#last = stamp;
    return stamp;
  }
}
