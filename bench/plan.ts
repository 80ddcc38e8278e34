/**
 * The plans the orchestrator hands to the load generator process.
 * @module
 */

/** A fan-out phase: a fixed event rate, or a flood limited by a delivery window. */
export type Phase =
  | { readonly name: "fixed"; readonly rate: number; readonly seconds: number }
  | {
    readonly name: "flood";
    readonly seconds: number;
    /** Events posted but not yet received by every client, at most. */
    readonly window: number;
    /** Events per POST. */
    readonly batch: number;
    /** Concurrent POSTs, at most. */
    readonly maxPosts: number;
  };

/** Subscribed clients receiving ingested events. */
export interface FanoutPlan {
  readonly mode: "fanout";
  readonly wsUrl: string;
  readonly ingestUrl: string;
  readonly token?: string;
  readonly view: string;
  readonly clients: number;
  readonly connectConcurrency: number;
  /** Distinct entity keys the events cycle through. */
  readonly keys: number;
  /** A phase ends when nothing arrived for this long after the last post. */
  readonly drainIdleMs: number;
  readonly phases: readonly Phase[];
}

/** Idle connections held until stdin closes. */
export interface IdlePlan {
  readonly mode: "idle";
  readonly wsUrl: string;
  readonly view: string;
  readonly connections: number;
  readonly connectConcurrency: number;
}

/** One event-throughput phase, with `subscribers` live on the view (opened as needed, never closed). */
export type EventPhase =
  & { readonly name: string; readonly subscribers: number; readonly seconds: number }
  & (
    | {
      /** Closed loop: at most `maxPosts` posts of `batch` events not yet at every subscriber. */
      readonly kind: "saturate";
      readonly batch: number;
      readonly maxPosts: number;
      /** Bodies built before the phase starts, so building them costs nothing during it. */
      readonly prebuiltEvents: number;
      /** Subscribers wait this long after a small read (see raw_subscriber.ts); 0: never. */
      readonly readPauseMs: number;
    }
    | {
      /** `rate` events per second, posted every `postIntervalMs`; latency per frame. */
      readonly kind: "fixed";
      readonly rate: number;
      readonly postIntervalMs: number;
    }
  );

/** Subscribers receiving one patch frame per ingested event; phases run in order. */
export interface EventsPlan {
  readonly mode: "events";
  readonly wsUrl: string;
  readonly ingestUrl: string;
  readonly token: string;
  readonly view: string;
  readonly connectConcurrency: number;
  /** Distinct mints the events cycle through. */
  readonly keys: number;
  /** After a 503, wait what `Retry-After` asks but at most this long. */
  readonly retryAfterCapMs: number;
  /** A phase ends when nothing arrived for this long after the last post. */
  readonly drainIdleMs: number;
  readonly phases: readonly EventPhase[];
}

/** Any plan. */
export type LoadPlan = FanoutPlan | IdlePlan | EventsPlan;
