/**
 * The metric catalog: every instrument Pharos records, with its name, kind, unit, description,
 * labels and buckets. Recording lives apart, in the `metrics_*.ts` facade builders.
 */
import type { MetricOptions } from "@opentelemetry/api";

/** How an instrument records. */
export type InstrumentKind =
  | "counter"
  | "upDownCounter"
  | "histogram"
  | "observableGauge"
  | "observableCounter";

/** One instrument of the catalog. */
export interface MetricDefinition {
  /**
   * The instrument name, which is also the Prometheus name. Names carry their unit suffix and
   * counters their `_total`, so every route gives the same name: PrometheusSerializer (which
   * appends `_total` to counters lacking it but never a unit suffix), the Collector's
   * OTLP→Prometheus translation (which skips a unit word the name already holds and
   * re-appends `total` at the end), and backends that translate without suffixes.
   */
  readonly name: string;
  readonly kind: InstrumentKind;
  /** UCUM unit (`s`, `By`); none for plain counts (a `1` would make the Collector add `_ratio`). */
  readonly unit?: string;
  readonly description: string;
  /** Attribute keys, all with bounded values. */
  readonly labels: readonly string[];
  /** Explicit histogram bucket boundaries, as advice to the SDK. */
  readonly buckets?: readonly number[];
  /**
   * A latency histogram whose buckets carry exemplars (the span active when a value was
   * recorded) on `/metrics` in OpenMetrics format.
   */
  readonly exemplars?: boolean;
}

const def = (
  name: string,
  kind: InstrumentKind,
  description: string,
  labels: readonly string[] = [],
  extra: Pick<MetricDefinition, "unit" | "buckets" | "exemplars"> = {},
): MetricDefinition => Object.freeze({ name, kind, description, labels, ...extra });

/** Projector batch latency: sub-millisecond batches up to a 2 s stall. */
const LATENCY_BUCKETS_S = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2,
] as const;
/** Connection lifetime: a second up to a day. */
const CONNECTION_BUCKETS_S = [
  1,
  5,
  15,
  30,
  60,
  300,
  900,
  1800,
  3600,
  7200,
  21600,
  43200,
  86400,
] as const;
/**
 * Handler run time: 50 µs up to past the default 250 ms time budget (the latency buckets
 * from 0.5 ms to 1 s, below three finer ones).
 */
const HANDLER_BUCKETS_S = Object.freeze([
  0.00005,
  0.0001,
  0.00025,
  ...LATENCY_BUCKETS_S.filter((bound) => bound <= 1),
]);

/**
 * Event delivery lag: sub-millisecond on a quiet server, up to the tens of seconds a full
 * intake queue (10 000 events) can hold events back when the handlers cannot keep up (the
 * latency buckets to 1 s, then a longer tail).
 */
const DELIVERY_LAG_BUCKETS_S = Object.freeze([
  ...LATENCY_BUCKETS_S.filter((bound) => bound <= 1),
  2.5,
  5,
  10,
  30,
]);
/**
 * Event loop delay: timers here fire 0.2–2 ms late on an idle loop; a pipeline slice is 2 ms;
 * a stalled loop shows seconds (the latency buckets from 1 ms to 1 s, then 2.5 and 5 s).
 */
const LOOP_DELAY_BUCKETS_S = Object.freeze([
  ...LATENCY_BUCKETS_S.filter((bound) => bound >= 0.001 && bound <= 1),
  2.5,
  5,
]);

/** Every instrument Pharos records (README's metric catalog, "Metrics and traces"), by role. */
export const METRIC_DEFINITIONS = Object.freeze(
  {
    wsConnections: def("ws_connections_total", "counter", "WebSocket connections established"),
    wsDisconnections: def(
      "ws_disconnections_total",
      "counter",
      "WebSocket connections closed (any reason)",
    ),
    wsConnectionsActive: def(
      "ws_connections_active",
      "upDownCounter",
      "Open WebSocket connections",
    ),
    wsConnectionDuration: def(
      "ws_connection_duration_seconds",
      "histogram",
      "WebSocket connection lifetime",
      [],
      { unit: "s", buckets: CONNECTION_BUCKETS_S },
    ),
    wsMessagesSent: def("ws_messages_sent_total", "counter", "Frames sent to clients"),
    wsMessagesReceived: def(
      "ws_messages_received_total",
      "counter",
      "Messages received from clients",
    ),
    wsConnectionErrors: def(
      "ws_connection_errors_total",
      "counter",
      "Protocol and socket errors on connections",
    ),
    wsConnectionErrorsByKind: def(
      "ws_connection_errors_by_kind_total",
      "counter",
      "Protocol and socket errors on connections, by kind",
      ["kind"],
    ),
    wsSlowConsumerDisconnects: def(
      "ws_slow_consumer_disconnects_total",
      "counter",
      "Clients disconnected as slow consumers",
    ),
    wsHandshakeRejections: def(
      "ws_handshake_rejections_total",
      "counter",
      "WebSocket upgrades refused, by close code name",
      ["code"],
    ),
    wsLimitExceeded: def(
      "ws_limit_exceeded_total",
      "counter",
      "Per-client limits hit: connections per IP/subject/origin, handshake rate, subscriptions, messages and bytes per minute, snapshot rows",
      ["limit"],
    ),
    wsUnknownViewSubscriptions: def(
      "ws_unknown_view_subscriptions_total",
      "counter",
      "Subscriptions to views that do not exist",
    ),
    wsViewForbidden: def(
      "ws_view_forbidden_total",
      "counter",
      "Subscriptions refused (view-forbidden) or ended by a refresh because the client's token does not grant the view",
      ["view"],
    ),
    subscriptionsCreated: def(
      "subscriptions_created_total",
      "counter",
      "Subscriptions created per view",
      ["view"],
    ),
    subscriptionsRemoved: def(
      "subscriptions_removed_total",
      "counter",
      "Subscriptions removed per view",
      ["view"],
    ),
    mutationsProcessed: def(
      "mutations_processed_total",
      "counter",
      "Mutations processed per entity",
      ["entity"],
    ),
    framesPublished: def(
      "frames_published_total",
      "counter",
      "Frames published per mode and entity",
      ["mode", "entity"],
    ),
    projectorLatency: def(
      "projector_latency_seconds",
      "histogram",
      "Mutation batch processing latency",
      [],
      { unit: "s", buckets: LATENCY_BUCKETS_S, exemplars: true },
    ),
    viewCacheEvictions: def(
      "view_cache_evictions_total",
      "counter",
      "View cache LRU evictions per entity",
      ["entity"],
    ),
    projectorViewErrors: def(
      "projector_view_errors_total",
      "counter",
      "Views the projector failed to update",
      ["view"],
    ),
    stateTableEvictions: def(
      "state_table_evictions_total",
      "counter",
      "VM state table LRU evictions per entity",
      ["entity"],
    ),
    stateTableAtCapacity: def(
      "state_table_at_capacity",
      "observableGauge",
      "1 while the entity's state table is full, else 0",
      ["entity"],
    ),
    pathCacheHits: def("path_cache_hits_total", "counter", "Field-path cache hits"),
    pathCacheMisses: def("path_cache_misses_total", "counter", "Field-path cache misses"),
    handlerErrors: def(
      "handler_errors_total",
      "counter",
      "Stack handler failures by error code",
      ["entity", "code"],
    ),
    handlerCancellations: def(
      "handler_cancellations_total",
      "counter",
      "Handler runs cancelled: over their time budget, or they took their host down",
      ["entity", "reason"],
    ),
    handlerHostRestarts: def(
      "handler_host_restarts_total",
      "counter",
      "Handler host processes replaced, by reason (timeout, memory, crash)",
      ["reason"],
    ),
    handlerHostBatchDuration: def(
      "handler_host_batch_duration_seconds",
      "histogram",
      "Round trip of one batch to the handler host process",
      [],
      { unit: "s", buckets: HANDLER_BUCKETS_S, exemplars: true },
    ),
    handlerCallDuration: def(
      "handler_call_duration_seconds",
      "histogram",
      "Stack handler run time",
      ["entity", "handler"],
      { unit: "s", buckets: HANDLER_BUCKETS_S, exemplars: true },
    ),
    sourceEvents: def("source_events_total", "counter", "Events received per source", ["source"]),
    sourceHealthy: def(
      "source_healthy",
      "observableGauge",
      "1 while the source is healthy, else 0",
      ["source"],
    ),
    ready: def("pharos_ready", "observableGauge", "1 while /ready answers 200, else 0"),
    pipelinePending: def(
      "pipeline_pending_events",
      "observableGauge",
      "Events waiting in the pipeline",
    ),
    pipelineCapacity: def(
      "pipeline_capacity_events",
      "observableGauge",
      "Events the pipeline holds at most",
    ),
    clusterLogLag: def(
      "cluster_log_lag_events",
      "observableGauge",
      "Cluster log entries after this instance's last applied position",
    ),
    clusterAppendErrors: def(
      "cluster_log_append_errors_total",
      "counter",
      "Events whose append to the cluster log failed (refused with 503, or retried)",
    ),
    clusterLeaseHeld: def(
      "cluster_lease_held",
      "observableGauge",
      "1 on the instance holding the singleton-source lease, else 0",
    ),
    clusterCheckpointAge: def(
      "cluster_checkpoint_age_seconds",
      "observableGauge",
      "Age of the latest cluster checkpoint in Redis",
      [],
      { unit: "s" },
    ),
    clusterRedisUp: def(
      "cluster_redis_up",
      "observableGauge",
      "1 while this instance's Redis connection works, else 0",
    ),
    clusterEpochChanges: def(
      "cluster_epoch_changes_total",
      "counter",
      "Times the cluster log was found lost and a new epoch began",
    ),
    authJwksRefreshes: def(
      "auth_jwks_refreshes_total",
      "counter",
      "Readings of the JWT key set after start-up, by trigger (unknown-kid, max-age, file-changed) and outcome (updated, unchanged, failed)",
      ["trigger", "outcome"],
    ),
    authRevocationListRefreshes: def(
      "auth_revocation_list_refreshes_total",
      "counter",
      "Readings of the token revocation list after start-up, by outcome (updated, unchanged, failed; shared: a list another cluster instance read)",
      ["outcome"],
    ),
    authRevocationListEntries: def(
      "auth_revocation_list_entries",
      "observableGauge",
      "Entries of the token revocation list in force, by kind (jti: token ids, sub: subjects)",
      ["kind"],
    ),
    authRevokedSessionsClosed: def(
      "auth_revoked_sessions_closed_total",
      "counter",
      "Live WebSocket sessions closed because the revocation list named their token",
    ),
    forwardedHeaderErrors: def(
      "forwarded_header_errors_total",
      "counter",
      "Requests from a trusted proxy whose Forwarded / X-Forwarded-For named no client (the peer address was used), by problem",
      ["problem"],
    ),
    logLinesDropped: def(
      "log_lines_dropped_total",
      "observableCounter",
      "Log lines dropped because the output could not keep up",
    ),
    exportFailures: def(
      "telemetry_export_failures_total",
      "counter",
      "Failed OTLP exports, by signal",
      ["signal"],
    ),
    eventDeliveryLag: def(
      "event_delivery_lag_seconds",
      "histogram",
      "Time from an event's arrival at the pipeline to its frames being handed to a client's socket, per view (the oldest event of each batch; sampled per client and batch)",
      ["view"],
      { unit: "s", buckets: DELIVERY_LAG_BUCKETS_S },
    ),
    eventLoopDelay: def(
      "event_loop_delay_seconds",
      "histogram",
      "How late a 20 ms timer fires past its due time: the wait of anything ready to run on the event loop",
      [],
      { unit: "s", buckets: LOOP_DELAY_BUCKETS_S },
    ),
    eventLoopUtilization: def(
      "event_loop_utilization",
      "observableGauge",
      "Share of the last 5 s the main thread (the event loop) was on the CPU, 0 to 1: its CPU time over wall time",
    ),
    handlerHostResidentMemory: def(
      "handler_host_resident_memory_bytes",
      "observableGauge",
      "Resident set size of the active handler host process",
      [],
      { unit: "By" },
    ),
    handlerHostHeapUsed: def(
      "handler_host_heap_used_bytes",
      "observableGauge",
      "V8 heap in use in the active handler host process",
      [],
      { unit: "By" },
    ),
    handlerHostHeapLimit: def(
      "handler_host_heap_limit_bytes",
      "observableGauge",
      "Heap cap of each handler host process (PHAROS_HANDLER_MEMORY_MB): a run that takes it over dies with reason memory",
      [],
      { unit: "By" },
    ),
    handlerHostCpu: def(
      "handler_host_cpu_seconds_total",
      "observableCounter",
      "User and system CPU time of the handler host processes this server started, replaced ones included",
      [],
      { unit: "s" },
    ),
    processResidentMemory: def(
      "process_resident_memory_bytes",
      "observableGauge",
      "Resident set size",
      [],
      { unit: "By" },
    ),
    processHeapUsed: def(
      "process_heap_used_bytes",
      "observableGauge",
      "V8 heap in use",
      [],
      { unit: "By" },
    ),
    processCpu: def(
      "process_cpu_seconds_total",
      "observableCounter",
      "User and system CPU time",
      [],
      { unit: "s" },
    ),
    processStartTime: def(
      "process_start_time_seconds",
      "observableGauge",
      "Start time of the process, Unix seconds",
      [],
      { unit: "s" },
    ),
  } as const satisfies Record<string, MetricDefinition>,
);

/** The instrument options of a definition. */
export function toMetricOptions(definition: MetricDefinition): MetricOptions {
  return {
    description: definition.description,
    ...(definition.unit === undefined ? {} : { unit: definition.unit }),
    ...(definition.buckets === undefined
      ? {}
      : { advice: { explicitBucketBoundaries: [...definition.buckets] } }),
  };
}
