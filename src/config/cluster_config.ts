/**
 * Cluster mode: several instances sharing one ordered event log in Redis. Off (the server
 * runs alone, exactly as without this slice) while `redisUrl` is empty.
 */
export interface ClusterConfig {
  /**
   * `PHAROS_REDIS_URL`: `redis://[user:pass@]host:port[/db]` (`rediss://` for TLS); empty
   * runs one instance on its own.
   * @default {""}
   */
  readonly redisUrl: string;
  /**
   * `PHAROS_REDIS_PREFIX`: first part of every key (`{prefix}:{stack}:log`, …), so several
   * deployments can share one Redis.
   * @default {"pharos"}
   */
  readonly prefix: string;
  /**
   * `PHAROS_INSTANCE_ID`: this instance's name in the lease, logs and `/status`; empty
   * generates `pharos-<pid>-<random>`.
   * @default {""}
   */
  readonly instanceId: string;
  /**
   * `PHAROS_CLUSTER_LEASE_MS`: lifetime of the singleton-source lease; its holder renews it
   * every third of this, and another instance takes over within it after the holder dies.
   * @default {5000}
   */
  readonly leaseMs: number;
  /**
   * `PHAROS_CLUSTER_CHECKPOINT_MS`: how often the lease holder writes a checkpoint (state
   * plus the log position it reflects) and trims the log behind the previous one.
   * @default {30000}
   */
  readonly checkpointMs: number;
}

/** Defaults of the `cluster` slice. */
export const CLUSTER_DEFAULTS: ClusterConfig = Object.freeze({
  redisUrl: "",
  prefix: "pharos",
  instanceId: "",
  leaseMs: 5_000,
  checkpointMs: 30_000,
});
