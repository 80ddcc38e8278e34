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

/** Any plan. */
export type LoadPlan = FanoutPlan | IdlePlan;
