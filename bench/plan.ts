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

/**
 * Events spread over owners, for the row-rule runs: key `k` belongs to owner `k % owners`
 * (so `keys` must be a multiple of `owners`), and every connection has a static token whose
 * subject is an owner.
 */
export interface OwnedEvents {
  readonly owners: number;
  /** Connection `i` (subscribed or idle) sends `tokens[i % owners]`, the token of owner `i % owners`. */
  readonly tokens: readonly string[];
  /**
   * Subscriber `i` gets only the events of owner `i % owners` (the stack's row rule, or
   * `keyed`); otherwise every event.
   */
  readonly ownEventsOnly: boolean;
  /**
   * Subscriber `i` subscribes with the key `mint<i % owners>`, its owner's only mint (then
   * `keys` equals `owners`).
   */
  readonly keyed: boolean;
  /** Connections opened first and never subscribed (they only hold a socket). */
  readonly idle: number;
}

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
  /** Owners, tokens and the row rule (the row-rule runs); absent: one anonymous audience. */
  readonly owned?: OwnedEvents;
}

/** Any plan. */
export type LoadPlan = FanoutPlan | IdlePlan | EventsPlan;
