import type { Logger } from "../log/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { EventLog } from "./event_log.ts";
import type { Follower } from "./follower.ts";
import { exportState, type StateHolders } from "./state_io.ts";

/** Options for {@link createCheckpointWriter}. */
export interface CheckpointWriterOptions {
  readonly log: EventLog;
  readonly clock: Clock;
  /** `pharos.cluster`. */
  readonly logger: Logger;
  readonly instance: string;
  /** Between the end of one write and the next. */
  readonly checkpointMs: number;
  readonly state: StateHolders;
  readonly follower: Follower;
  /** Only the lease holder writes checkpoints. */
  readonly holding: () => boolean;
  /** The cluster's lifetime: no write is scheduled once it is aborted. */
  readonly signal: AbortSignal;
}

/** Writes the state with the log position it reflects, every `checkpointMs` while holding. */
export interface CheckpointWriter {
  start(): void;
  /** Cancels the next write and waits for one under way (abort the signal first). */
  stop(): Promise<void>;
}

/** Creates the writer; nothing is written until `start`. */
export function createCheckpointWriter(options: CheckpointWriterOptions): CheckpointWriter {
  const { log, clock, logger, instance, follower } = options;
  let timer: Disposable | undefined;
  let writing: Promise<void> = Promise.resolve();

  async function write(): Promise<void> {
    const consumer = follower.consumer();
    if (!options.holding() || consumer === undefined || follower.epoch === undefined) return;
    const startedAt = clock.monotonic();
    await consumer.quiesce(async () => {
      const at = consumer.applied;
      const state = exportState(options.state);
      const written = await log.writeCheckpoint(follower.epoch!, {
        id: at.id,
        n: at.n,
        at: clock.now(),
        state,
      });
      logger.info("Cluster checkpoint at offset {n} written ({bytes} bytes, {ms} ms)", {
        instance,
        n: at.n,
        bytes: state.length,
        ms: Math.round(clock.monotonic() - startedAt),
        written,
      });
    });
  }

  function schedule(): void {
    if (options.signal.aborted) return;
    timer = clock.setTimer(options.checkpointMs, () => {
      writing = write()
        .catch((error) => logger.warn("Cluster checkpoint failed: {error}", { error }))
        .finally(schedule);
    });
  }

  return {
    start: schedule,
    async stop() {
      timer?.[Symbol.dispose]();
      await writing;
    },
  };
}
