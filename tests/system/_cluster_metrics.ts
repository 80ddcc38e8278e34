/**
 * The metrics of cluster mode (issue 15), as Prometheus names. A server exports them only
 * when `PHAROS_REDIS_URL` is set, one series per instance with no labels besides Prometheus'
 * `job` and `instance`; a standalone server has none of them.
 *
 * `ops_test.ts` checks the `cluster_*` names that dashboards and alert rules use against this
 * list, because the standalone server it runs cannot show them (and checks that it does not).
 * The cluster integration test checks this list against the `/metrics` of a real
 * cluster-mode server, so a renamed metric fails there rather than silently emptying a panel.
 */
export const CLUSTER_METRICS = [
  /** Gauge: log entries after this instance's last applied position. */
  "cluster_log_lag_events",
  /** Counter: events whose append to the Redis log failed (ingest got 503, or a singleton event was retried). */
  "cluster_log_append_errors_total",
  /** Gauge: 1 on the instance holding the singleton-source lease, else 0. */
  "cluster_lease_held",
  /** Gauge: age of the latest checkpoint in Redis. */
  "cluster_checkpoint_age_seconds",
  /** Gauge: 1 while this instance's Redis connection works, else 0. */
  "cluster_redis_up",
  /** Counter: times the log was found lost (flushed, failed over without data) and a new epoch began. */
  "cluster_epoch_changes_total",
] as const;
