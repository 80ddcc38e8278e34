/** The cluster's part of `GET /status` (under `cluster`). */
export interface ClusterStatus {
  readonly instance: string;
  /** The Redis URL without its password. */
  readonly redis_url: string;
  readonly redis: "up" | "down";
  readonly epoch: string | null;
  /** Caught up with the log, Redis up, no recovery under way. */
  readonly ready: boolean;
  /**
   * `holder` is the instance holding the lease, `null` when none does; when Redis could not
   * be asked (it is down, or did not answer in time) `holder_known` is false and `holder`
   * is `null`: unknown, not "nobody".
   */
  readonly lease: {
    readonly held: boolean;
    readonly holder: string | null;
    readonly holder_known: boolean;
  };
  readonly log: { readonly applied: number; readonly top: number; readonly lag: number };
  readonly checkpoint: { readonly age_seconds: number | null };
}

/** Who holds the lease: an instance, nobody (`instance` undefined), or not known now. */
export type LeaseHolder =
  | { readonly known: true; readonly instance: string | undefined }
  | { readonly known: false };

/** What the report is made from. */
export interface ClusterStatusInput {
  readonly instance: string;
  readonly url: string;
  readonly epoch: string | undefined;
  readonly ready: boolean;
  readonly redisUp: boolean;
  readonly leaseHeld: boolean;
  /** The holder as Redis named it when asked; not known when Redis could not be asked. */
  readonly leaseHolder: LeaseHolder;
  readonly applied: number;
  readonly top: number;
  readonly checkpointAt: number | undefined;
  readonly now: number;
}

/** Builds the report. */
export function toClusterStatus(input: ClusterStatusInput): ClusterStatus {
  return {
    instance: input.instance,
    redis_url: input.url,
    redis: input.redisUp ? "up" : "down",
    epoch: input.epoch ?? null,
    ready: input.ready,
    lease: {
      held: input.leaseHeld,
      holder: input.leaseHolder.known ? input.leaseHolder.instance ?? null : null,
      holder_known: input.leaseHolder.known,
    },
    log: {
      applied: input.applied,
      top: Math.max(input.top, input.applied),
      lag: Math.max(0, input.top - input.applied),
    },
    checkpoint: {
      age_seconds: input.checkpointAt === undefined
        ? null
        : Math.round(Math.max(0, input.now - input.checkpointAt) / 100) / 10,
    },
  };
}
