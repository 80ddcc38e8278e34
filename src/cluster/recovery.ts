import type { Logger } from "../log/mod.ts";
import type { ClusterTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { EventLog } from "./event_log.ts";
import { type Follower, newEpoch } from "./follower.ts";
import { exportState, importState, type StateHolders } from "./state_io.ts";

/** Options for {@link createRecovery}. */
export interface RecoveryOptions {
  readonly log: EventLog;
  readonly clock: Clock;
  /** `pharos.cluster`. */
  readonly logger: Logger;
  readonly telemetry: ClusterTelemetry;
  readonly instance: string;
  readonly state: StateHolders;
  readonly follower: Follower;
  /** The cluster's lifetime: epoch recovery stops retrying once it is aborted. */
  readonly signal: AbortSignal;
  /** See `ClusterOptions.onStateReplaced`. */
  readonly onStateReplaced: (reason: string) => void;
}

/** How this instance reacts when the log is not the one it follows: one recovery at a time. */
export interface Recovery {
  /** The log lost its epoch (flushed, failed over without it): start or join a new one. */
  recoverEpoch(): Promise<void>;
  /** This instance fell behind a trimmed log: load the checkpoint and go on from it. */
  recoverGap(expected: number, found: number): void;
  /** True while a recovery runs: appends wait for it and the instance is not ready. */
  underWay(): boolean;
}

/** Creates the recovery; it acts only when asked. */
export function createRecovery(options: RecoveryOptions): Recovery {
  const { log, clock, logger, instance, follower } = options;
  let recovering: Promise<void> | undefined;

  function recoverEpoch(): Promise<void> {
    return recovering ??= (async () => {
      try {
        while (!options.signal.aborted) {
          try {
            await follower.quiet(switchEpoch);
            return;
          } catch (error) {
            logger.warn("Cluster epoch recovery failed, retrying: {error}", { error });
            await new Promise<void>((resolve) => clock.setTimer(500, resolve));
          }
        }
      } finally {
        recovering = undefined;
      }
    })();
  }

  /**
   * Joins the epoch in Redis, or starts one with this instance's state as its checkpoint
   * (the first to notice keeps what it has applied; the others load it).
   */
  async function switchEpoch(): Promise<void> {
    const found = await log.epoch();
    if (found !== undefined && found === follower.epoch) return; // a stale answer: nothing changed
    const lost = follower.epoch;
    const mine = found === undefined
      ? await log.createEpoch(newEpoch(clock), exportState(options.state), clock.now())
      : undefined;
    follower.joinEpoch(mine?.epoch ?? found);
    await loadCheckpoint(mine?.created === true ? "kept" : "replaced");
    options.telemetry.epochChanged();
    logger.warn("Cluster log epoch {lost} is gone: now {epoch} ({how})", {
      instance,
      lost: lost ?? null,
      epoch: follower.epoch,
      how: mine?.created === true ? "started it with this instance's state" : "joined it",
      code: "cluster-epoch-changed",
    });
  }

  function recoverGap(expected: number, found: number): void {
    logger.warn(
      "Cluster log skips from offset {expected} to {found} (trimmed past this instance)",
      { instance, expected, found, code: "cluster-log-gap" },
    );
    recovering ??= follower.quiet(() => loadCheckpoint("replaced"))
      .catch((error) => logger.error("Cannot reload the cluster checkpoint: {error}", { error }))
      .finally(() => (recovering = undefined));
  }

  /** Moves the consumer to the epoch's checkpoint; `replaced` also loads its state. */
  async function loadCheckpoint(how: "kept" | "replaced"): Promise<void> {
    const checkpoint = await log.readCheckpoint();
    const epoch = follower.epoch;
    if (checkpoint === undefined || checkpoint.epoch !== epoch) {
      throw new Error(`no checkpoint of epoch ${epoch} in Redis`);
    }
    if (how === "replaced") importState(options.state, checkpoint.state);
    await follower.moveTo({ id: checkpoint.id, n: checkpoint.n });
    if (how === "replaced") {
      options.onStateReplaced("state-replaced: the cluster state was reloaded");
    }
  }

  return { recoverEpoch, recoverGap, underWay: () => recovering !== undefined };
}
