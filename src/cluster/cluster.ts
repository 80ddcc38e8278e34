import type { ClusterConfig } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Pipeline, PipelineCluster } from "../pipeline/mod.ts";
import type { Telemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import { createAppender, LeaseLostError } from "./appender.ts";
import { createCheckpointWriter } from "./checkpoints.ts";
import { createEventLog } from "./event_log.ts";
import { createFollower } from "./follower.ts";
import { clusterKeys } from "./keys.ts";
import { createRedisMonitor } from "./monitor.ts";
import { createRecovery } from "./recovery.ts";
import { createRedisLink, loggableRedisUrl } from "./redis_link.ts";
import { createSharedDocuments, type SharedDocument } from "./shared_documents.ts";
import { createSingletons } from "./singletons.ts";
import type { StateHolders } from "./state_io.ts";
import { type ClusterStatus, toClusterStatus } from "./status.ts";

/** Options for {@link createCluster}. */
export interface ClusterOptions {
  readonly config: ClusterConfig;
  /** The stack's name: the keys are `{prefix}:{stack}:…`. */
  readonly stack: string;
  /** This instance's name: `clusterInstanceId(config, ids)`. */
  readonly instance: string;
  readonly clock: Clock;
  /** `pharos.cluster`. */
  readonly log: Logger;
  readonly telemetry: Telemetry;
  readonly state: StateHolders;
  /** Lag beyond which appends are refused as `full`: `maxLagEventsFor` the pipeline's capacity. */
  readonly maxLagEvents: number;
  /**
   * The state was replaced (a checkpoint loaded over it: a new epoch, or this instance fell
   * behind a trimmed log): clients must subscribe again for snapshots of the new state.
   */
  readonly onStateReplaced: (reason: string) => void;
}

/** Cluster mode: the shared log, the lease, checkpoints and recovery. */
export interface Cluster {
  /** What the pipeline is built with. */
  readonly pipeline: PipelineCluster;
  /** Connects (retrying until Redis answers), loads the checkpoint and follows the log. */
  start(pipeline: Pipeline): Promise<void>;
  /**
   * The document `name`, which every instance on this Redis holds the same copy of (the
   * last publication wins): a hash at `{prefix}:{name}` and a channel of that name. Ask
   * before `start`.
   */
  share(name: string): SharedDocument;
  /** Gives the lease up, stops the loops and closes the connections. */
  stop(): Promise<void>;
  isReady(): boolean;
  /**
   * The cluster's part of `/status`. The lease holder is read from Redis when asked (within
   * the probe timeout, `PROBE_TIMEOUT_MS`), so every instance names the holder in force right
   * after a handover; while Redis cannot be asked it is reported as not known.
   */
  status(): Promise<ClusterStatus>;
}

/** Builds cluster mode; nothing connects until `start`. */
export function createCluster(options: ClusterOptions): Cluster {
  const { config, clock, log, telemetry, instance, state } = options;
  const link = createRedisLink(config.redisUrl, log);
  const eventLog = createEventLog(link, clusterKeys(config.prefix, options.stack));
  const lifetime = new AbortController();
  const { signal } = lifetime;
  /** What every part is built with (`log` is the event log, `logger` the cluster's lines). */
  const parts = { log: eventLog, clock, logger: log, instance };

  // The parts call each other back only once started, after all of them are built.
  const monitor = createRedisMonitor({
    ...parts,
    link,
    epoch: () => follower.epoch,
    onEpochMismatch: () => void recovery.recoverEpoch(),
    readWaitingMs: () => follower.consumer()?.readWaitingMs() ?? 0,
    onConsumerStuck() {
      log.warn("Cluster log consumer received nothing for 3 s: reconnecting it", {
        instance,
        code: "cluster-consumer-stuck",
      });
      link.replaceReader().catch(() => {});
    },
  });
  const follower = createFollower({
    ...parts,
    link,
    telemetry,
    state,
    signal,
    onTopReset: (n) => monitor.resetTop(n),
    onGap: (expected, found) => recovery.recoverGap(expected, found),
    onProbe: (tag) => monitor.probeSeen(tag),
  });
  const recovery = createRecovery({
    ...parts,
    telemetry: telemetry.cluster,
    state,
    follower,
    signal,
    onStateReplaced: options.onStateReplaced,
  });
  const shared = createSharedDocuments({
    link,
    prefix: config.prefix,
    instance,
    clock,
    logger: log,
    signal,
  });
  const isReady = () =>
    !signal.aborted && !recovery.underWay() && monitor.up() && follower.isCaughtUp() &&
    shared.synced();
  const lag = () => Math.max(0, monitor.top - follower.applied());
  const appender = createAppender({
    ...parts,
    telemetry: telemetry.cluster,
    tracing: telemetry.tracing,
    epoch: () => (recovery.underWay() ? undefined : follower.epoch),
    up: () => monitor.up(),
    lag,
    maxLag: options.maxLagEvents,
    onEpochMismatch: () => void recovery.recoverEpoch(),
    onTop: (n) => monitor.noteTop(n),
  });
  const singletons = createSingletons({
    ...parts,
    leaseMs: config.leaseMs,
    appender,
    redisUp: () => monitor.up(),
    canHold: isReady,
  });
  const checkpoints = createCheckpointWriter({
    ...parts,
    checkpointMs: config.checkpointMs,
    state,
    follower,
    holding: () => singletons.holding(),
    signal,
  });

  telemetry.observe.cluster(() => {
    const at = monitor.checkpointAt;
    return {
      lagEvents: lag(),
      leaseHeld: singletons.holding(),
      checkpointAgeSeconds: at === undefined ? undefined : Math.max(0, (clock.now() - at) / 1000),
      redisUp: monitor.up(),
    };
  });

  return {
    pipeline: { contextFor: singletons.contextFor, startsHere: singletons.startsHere, isReady },
    async start(pipeline) {
      log.info("Cluster mode: instance {instance} on {url} (prefix {prefix})", {
        instance,
        url: loggableRedisUrl(config.redisUrl),
        prefix: config.prefix,
        stack: options.stack,
      });
      monitor.start();
      await follower.start(pipeline);
      if (signal.aborted) return; // stopped while starting: no lease, no singletons
      const sharing = shared.start();
      singletons.start(pipeline);
      checkpoints.start();
      await sharing;
    },
    share: (name) => shared.share(name),
    async stop() {
      lifetime.abort();
      await shared.stop();
      await checkpoints.stop();
      await singletons.stop();
      await monitor.stop();
      await follower.stop();
      await link.close();
    },
    isReady,
    status: async () =>
      toClusterStatus({
        leaseHolder: await singletons.holder(),
        instance,
        url: loggableRedisUrl(config.redisUrl),
        epoch: follower.epoch,
        ready: isReady(),
        redisUp: monitor.up(),
        leaseHeld: singletons.holding(),
        applied: follower.applied(),
        top: monitor.top,
        checkpointAt: monitor.checkpointAt,
        now: clock.now(),
      }),
  };
}

export { LeaseLostError };
