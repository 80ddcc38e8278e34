import type { Attributes, Meter, MetricOptions, ObservableResult } from "@opentelemetry/api";
import {
  type AuthTelemetry,
  type ClusterReading,
  type ClusterTelemetry,
  FORWARDED_PROBLEMS,
  HANDLER_CANCEL_REASONS,
  KEY_REFRESH_OUTCOMES,
  KEY_REFRESH_TRIGGERS,
  type LogTelemetry,
  type Observations,
  type ProjectorTelemetry,
  type SourceTelemetry,
  type VmTelemetry,
  WS_LIMITS,
  type WsTelemetry,
} from "./facade.ts";

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
}

const def = (
  name: string,
  kind: InstrumentKind,
  description: string,
  labels: readonly string[] = [],
  extra: Pick<MetricDefinition, "unit" | "buckets"> = {},
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
/** Handler run time: 50 µs up to past the default 250 ms time budget. */
const HANDLER_BUCKETS_S = [
  0.00005,
  0.0001,
  0.00025,
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
] as const;

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
      { unit: "s", buckets: LATENCY_BUCKETS_S },
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
      { unit: "s", buckets: HANDLER_BUCKETS_S },
    ),
    handlerCallDuration: def(
      "handler_call_duration_seconds",
      "histogram",
      "Stack handler run time",
      ["entity", "handler"],
      { unit: "s", buckets: HANDLER_BUCKETS_S },
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

/** Attribute sets are cached per label value (bounded) so hot paths allocate nothing. */
const MAX_CACHED_ATTRIBUTE_SETS = 1024;

function attributeCache<A extends readonly string[]>(
  keys: readonly string[],
): (...values: A) => Attributes {
  const cache = new Map<string, Attributes>();
  return (...values) => {
    const id = values.length === 1 ? values[0]! : values.join("\u0000");
    let attributes = cache.get(id);
    if (attributes === undefined) {
      attributes = Object.freeze(Object.fromEntries(keys.map((key, i) => [key, values[i]])));
      if (cache.size < MAX_CACHED_ATTRIBUTE_SETS) cache.set(id, attributes);
    }
    return attributes;
  };
}

type Add = (value: number, attributes?: Attributes) => void;

/** Creates a synchronous instrument on every meter; the returned function records to all. */
function synchronous(meters: readonly Meter[], definition: MetricDefinition): Add {
  const options = toMetricOptions(definition);
  const instruments = meters.map((meter): Add => {
    switch (definition.kind) {
      case "counter": {
        const counter = meter.createCounter(definition.name, options);
        return (value, attributes) => counter.add(value, attributes);
      }
      case "upDownCounter": {
        const counter = meter.createUpDownCounter(definition.name, options);
        return (value, attributes) => counter.add(value, attributes);
      }
      case "histogram": {
        const histogram = meter.createHistogram(definition.name, options);
        return (value, attributes) => histogram.record(value, attributes);
      }
      default:
        throw new TypeError(`${definition.name} is not a synchronous instrument`);
    }
  });
  const [only] = instruments;
  if (instruments.length === 1 && only !== undefined) return only;
  return (value, attributes) => {
    for (const record of instruments) record(value, attributes);
  };
}

/**
 * Creates an observable instrument on every meter, read at collection time. A callback that
 * throws reports nothing for that collection (the reading is skipped, never the export).
 */
export function observable(
  meters: readonly Meter[],
  definition: MetricDefinition,
  observe: (result: ObservableResult) => void,
): void {
  const options = toMetricOptions(definition);
  const callback = (result: ObservableResult) => {
    try {
      observe(result);
    } catch {
      // A failing reading (a component mid-shutdown) must not break the collection of
      // every other metric; the gauge simply has no point this time.
    }
  };
  for (const meter of meters) {
    const instrument = definition.kind === "observableCounter"
      ? meter.createObservableCounter(definition.name, options)
      : meter.createObservableGauge(definition.name, options);
    instrument.addCallback(callback);
  }
}

/** Options of {@link createMetricFacades}. */
export interface MetricFacadeOptions {
  /** Register and record `handler_call_duration_seconds`. Default false. */
  readonly functionCallMetrics?: boolean;
  /**
   * The signals Pharos exports: with any, `telemetry_export_failures_total` is registered
   * with a 0 series for each of {@link ZEROED_EXPORT_SIGNALS} and these. Default none: the
   * counter only exists where Pharos runs the exporters.
   */
  readonly exportSignals?: readonly string[];
}

/** The metric-recording facades, plus hooks for the set-up code of this folder. */
export interface MetricFacades {
  readonly ws: WsTelemetry;
  readonly projector: ProjectorTelemetry;
  readonly vm: VmTelemetry;
  readonly sources: SourceTelemetry;
  readonly cluster: ClusterTelemetry;
  readonly auth: AuthTelemetry;
  readonly log: LogTelemetry;
  readonly observe: Observations;
  /** Counts log lines a logging handle dropped (read when metrics are collected). */
  countLogDrops(read: () => number): void;
  /** Counts a failed export of `signal` (a no-op without `exportSignals`). */
  exportFailed(signal: string): void;
}

/**
 * Every OTLP signal, exported at 0 failures once any exporter runs (a dashboard's per-signal
 * panel then shows each at 0, whichever exporters are configured).
 */
export const ZEROED_EXPORT_SIGNALS = ["traces", "metrics", "logs"] as const;

type HealthReading = ReturnType<Parameters<Observations["health"]>[0]>;
type PipelineReading = ReturnType<Parameters<Observations["pipeline"]>[0]>;

/**
 * Creates the facades over instruments on `meters` (usually one; two in Deno-native mode, where
 * the runtime's meter exports and a local one serves `/metrics`). Label-free counters start at 0
 * so their series exist from the first scrape, and so do counters over a closed set of label
 * values (limits, reasons, signals); those over the app's own values (entities, views, sources)
 * start at 0 once the app announces them with `observe.catalog`.
 */
export function createMetricFacades(
  meters: readonly Meter[],
  options: MetricFacadeOptions = {},
): MetricFacades {
  const m = METRIC_DEFINITIONS;
  const counter = (definition: MetricDefinition) => {
    const add = synchronous(meters, definition);
    if (definition.labels.length === 0) add(0);
    return add;
  };
  const one = (key: string) => attributeCache<[string]>([key]);
  const byView = one("view");
  const byEntity = one("entity");
  const byKind = one("kind");
  const byCode = one("code");
  const byLimit = one("limit");
  const bySource = one("source");
  const byModeEntity = attributeCache<[string, string]>(["mode", "entity"]);
  const byEntityCode = attributeCache<[string, string]>(["entity", "code"]);
  const byEntityHandler = attributeCache<[string, string]>(["entity", "handler"]);
  const byEntityReason = attributeCache<[string, string]>(["entity", "reason"]);
  const byReason = one("reason");

  const connections = counter(m.wsConnections);
  const disconnections = counter(m.wsDisconnections);
  const active = synchronous(meters, m.wsConnectionsActive);
  active(0);
  const duration = synchronous(meters, m.wsConnectionDuration);
  const sent = counter(m.wsMessagesSent);
  const received = counter(m.wsMessagesReceived);
  const errors = counter(m.wsConnectionErrors);
  const errorsByKind = counter(m.wsConnectionErrorsByKind);
  const slowConsumers = counter(m.wsSlowConsumerDisconnects);
  const rejections = counter(m.wsHandshakeRejections);
  const unknownViews = counter(m.wsUnknownViewSubscriptions);
  const limitsExceeded = counter(m.wsLimitExceeded);
  for (const limit of WS_LIMITS) limitsExceeded(0, byLimit(limit));
  const created = counter(m.subscriptionsCreated);
  const removed = counter(m.subscriptionsRemoved);

  const mutations = counter(m.mutationsProcessed);
  const frames = counter(m.framesPublished);
  const latency = synchronous(meters, m.projectorLatency);
  const viewEvictions = counter(m.viewCacheEvictions);
  const viewErrors = counter(m.projectorViewErrors);

  const stateEvictions = counter(m.stateTableEvictions);
  const atCapacity = new Map<string, 0 | 1>();
  observable(meters, m.stateTableAtCapacity, (result) => {
    for (const [entity, value] of atCapacity) result.observe(value, byEntity(entity));
  });
  const pathHits = counter(m.pathCacheHits);
  const pathMisses = counter(m.pathCacheMisses);
  const handlerErrors = counter(m.handlerErrors);
  const cancellations = counter(m.handlerCancellations);
  const hostRestarts = counter(m.handlerHostRestarts);
  for (const reason of HANDLER_CANCEL_REASONS) hostRestarts(0, byReason(reason));
  const hostBatch = synchronous(meters, m.handlerHostBatchDuration);
  // Off by default: not even registered, so the series never appears unless asked for.
  const handlerDuration = options.functionCallMetrics === true
    ? synchronous(meters, m.handlerCallDuration)
    : undefined;

  const sourceEvents = counter(m.sourceEvents);

  // Readings registered by the app; the latest registration replaces the previous one.
  let readHealth: (() => HealthReading) | undefined;
  let readPipeline: (() => PipelineReading) | undefined;
  observable(meters, m.ready, (result) => {
    if (readHealth !== undefined) result.observe(readHealth().ready ? 1 : 0);
  });
  observable(meters, m.sourceHealthy, (result) => {
    if (readHealth === undefined) return;
    for (const source of readHealth().sources) {
      result.observe(source.healthy ? 1 : 0, bySource(source.name));
    }
  });
  observable(meters, m.pipelinePending, (result) => {
    if (readPipeline !== undefined) result.observe(readPipeline().pending);
  });
  observable(meters, m.pipelineCapacity, (result) => {
    if (readPipeline !== undefined) result.observe(readPipeline().capacity);
  });

  // Cluster series exist only once a cluster-mode app registers its reading.
  const appendErrors = synchronous(meters, m.clusterAppendErrors);
  const epochChanges = synchronous(meters, m.clusterEpochChanges);
  let readCluster: (() => ClusterReading) | undefined;
  const clusterGauge = (definition: MetricDefinition, value: (reading: ClusterReading) => number) =>
    observable(meters, definition, (result) => {
      if (readCluster !== undefined) result.observe(value(readCluster()));
    });
  clusterGauge(m.clusterLogLag, (reading) => reading.lagEvents);
  clusterGauge(m.clusterLeaseHeld, (reading) => reading.leaseHeld ? 1 : 0);
  observable(meters, m.clusterCheckpointAge, (result) => {
    const age = readCluster?.().checkpointAgeSeconds;
    if (age !== undefined) result.observe(age);
  });
  clusterGauge(m.clusterRedisUp, (reading) => reading.redisUp ? 1 : 0);

  const byTriggerOutcome = attributeCache<[string, string]>(["trigger", "outcome"]);
  const keyRefreshes = counter(m.authJwksRefreshes);
  for (const trigger of KEY_REFRESH_TRIGGERS) {
    for (const outcome of KEY_REFRESH_OUTCOMES) keyRefreshes(0, byTriggerOutcome(trigger, outcome));
  }
  const byProblem = one("problem");
  const forwardedErrors = counter(m.forwardedHeaderErrors);
  for (const problem of FORWARDED_PROBLEMS) forwardedErrors(0, byProblem(problem));

  // An observable counter, so drops reported through the facade and drops read from a
  // logging handle add up in one series.
  let reportedDrops = 0;
  const dropReaders: (() => number)[] = [];
  observable(meters, m.logLinesDropped, (result) => {
    let total = reportedDrops;
    for (const read of dropReaders) total += read();
    result.observe(total);
  });

  const bySignal = one("signal");
  let exportFailures: Add | undefined;
  if (options.exportSignals !== undefined && options.exportSignals.length > 0) {
    exportFailures = synchronous(meters, m.exportFailures);
    const signals = new Set<string>([...ZEROED_EXPORT_SIGNALS, ...options.exportSignals]);
    for (const signal of signals) exportFailures(0, bySignal(signal));
  }

  return {
    ws: {
      connectionOpened() {
        connections(1);
        active(1);
      },
      connectionClosed(durationSeconds) {
        disconnections(1);
        active(-1);
        duration(durationSeconds);
      },
      framesSent: (count) => sent(count),
      messageReceived: () => received(1),
      connectionError(kind) {
        errors(1);
        errorsByKind(1, byKind(kind));
      },
      handshakeRejected: (code) => rejections(1, byCode(code)),
      slowConsumerDropped: () => slowConsumers(1),
      limitExceeded: (limit) => limitsExceeded(1, byLimit(limit)),
      subscriptionCreated: (view) => created(1, byView(view)),
      subscriptionRemoved: (view) => removed(1, byView(view)),
      unknownView: () => unknownViews(1),
    },
    projector: {
      mutationsProcessed: (entity, count) => mutations(count, byEntity(entity)),
      framePublished: (mode, entity, count = 1) => frames(count, byModeEntity(mode, entity)),
      batchDone: (seconds) => latency(seconds),
      viewCacheEviction: (entity) => viewEvictions(1, byEntity(entity)),
      viewError: (view) => viewErrors(1, byView(view)),
    },
    vm: {
      stateTableEviction: (entity) => stateEvictions(1, byEntity(entity)),
      stateTableAtCapacity: (entity, full) => void atCapacity.set(entity, full ? 1 : 0),
      pathCacheHit: () => pathHits(1),
      pathCacheMiss: () => pathMisses(1),
      handlerError: (entity, code) => handlerErrors(1, byEntityCode(entity, code)),
      handlerCancelled: (entity, reason) => cancellations(1, byEntityReason(entity, reason)),
      hostRestarted: (reason) => hostRestarts(1, byReason(reason)),
      hostBatchDone: (seconds) => hostBatch(seconds),
      handlerDuration(entity, handler, seconds) {
        handlerDuration?.(seconds, byEntityHandler(entity, handler));
      },
    },
    sources: {
      eventReceived: (source, count = 1) => sourceEvents(count, bySource(source)),
    },
    cluster: {
      appendFailed: (count = 1) => appendErrors(count),
      epochChanged: () => epochChanges(1),
    },
    auth: {
      keySetRefreshed: (trigger, outcome) => keyRefreshes(1, byTriggerOutcome(trigger, outcome)),
      forwardedHeaderRejected: (problem) => forwardedErrors(1, byProblem(problem)),
    },
    log: {
      linesDropped(count) {
        if (count > 0) reportedDrops += count;
      },
    },
    observe: {
      health(read) {
        readHealth = read;
      },
      pipeline(read) {
        readPipeline = read;
      },
      cluster(read) {
        if (readCluster === undefined) {
          appendErrors(0);
          epochChanges(0);
        }
        readCluster = read;
      },
      // Adding 0 creates a series without changing it; a label set already in use keeps its
      // count, and a table already reported full stays 1.
      catalog(known) {
        for (const entity of known.entities ?? []) {
          const attributes = byEntity(entity);
          mutations(0, attributes);
          viewEvictions(0, attributes);
          stateEvictions(0, attributes);
          viewErrors(0, byView(entity));
          if (!atCapacity.has(entity)) atCapacity.set(entity, 0);
          for (const reason of HANDLER_CANCEL_REASONS) {
            cancellations(0, byEntityReason(entity, reason));
          }
          for (const mode of known.modes ?? []) frames(0, byModeEntity(mode, entity));
        }
        for (const view of known.views ?? []) {
          created(0, byView(view));
          removed(0, byView(view));
        }
        for (const source of known.sources ?? []) sourceEvents(0, bySource(source));
      },
    },
    countLogDrops(read) {
      dropReaders.push(read);
    },
    exportFailed(signal) {
      exportFailures?.(1, bySignal(signal));
    },
  };
}
