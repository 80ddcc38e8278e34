/**
 * Typed telemetry facades, one per component. Components record what happens through
 * these and never import OpenTelemetry themselves; the OTel-backed implementation plugs
 * in behind the same interfaces, and tests pass a recording one.
 */

/** WebSocket server and session events. */
export interface WsTelemetry {
  connectionOpened(): void;
  connectionClosed(durationSeconds: number): void;
  framesSent(count: number): void;
  messageReceived(): void;
  /** A protocol or socket error on a connection (`kind` is a bounded label). */
  connectionError(kind: string): void;
  /** An upgrade refused before it became a connection (`code` as in docs/protocol.md §6). */
  handshakeRejected(code: string): void;
  slowConsumerDropped(): void;
  /** A per-client limit was hit (`ws_limit_exceeded_total{limit}`). */
  limitExceeded(limit: WsLimit): void;
  subscriptionCreated(view: string): void;
  subscriptionRemoved(view: string): void;
  unknownView(): void;
  /** A subscribe refused, or a subscription ended, because the token does not grant `view`. */
  viewForbidden(view: string): void;
  /**
   * Frames of `view` were handed to a client's socket `seconds` after the oldest event of
   * their batch reached the pipeline (`event_delivery_lag_seconds{view}`); sampled, see
   * `DeliveryStamp`.
   */
  deliveryLag(view: string, seconds: number): void;
}

/**
 * Every per-client limit the WebSocket server reports: the admission limits checked at the
 * upgrade, then those of a session. Closed, so each `limit` series exists at 0 from start-up.
 */
export const WS_LIMITS = [
  "handshake-rate",
  "connections-per-ip",
  "connections-per-subject",
  "connections-per-origin",
  "messages-per-minute",
  "bytes-per-minute",
  "snapshot-rows",
] as const;

/** One of {@link WS_LIMITS}. */
export type WsLimit = typeof WS_LIMITS[number];

/** Projector events. */
export interface ProjectorTelemetry {
  mutationsProcessed(entity: string, count: number): void;
  /** `count` frames (default 1): the projector reports once per batch and label set. */
  framePublished(mode: string, entity: string, count?: number): void;
  batchDone(seconds: number): void;
  viewCacheEviction(entity: string): void;
  /** A view (its id, `Token/list`) that failed to take a mutation. */
  viewError(view: string): void;
}

/** VM (stack handler) events. */
export interface VmTelemetry {
  stateTableEviction(entity: string): void;
  stateTableAtCapacity(entity: string, atCapacity: boolean): void;
  pathCacheHit(): void;
  pathCacheMiss(): void;
  handlerError(entity: string, code: string): void;
  /** A run cancelled: over its budget (`timeout`), or it took its host down (`memory`, `crash`). */
  handlerCancelled(entity: string, reason: HandlerCancelReason): void;
  handlerDuration(entity: string, handler: string, seconds: number): void;
  /** The handler host was replaced (killed over budget or memory, or it exited). */
  hostRestarted(reason: HandlerCancelReason): void;
  /** One batch's round trip to the handler host. */
  hostBatchDone(seconds: number): void;
}

/** Why a handler run is cancelled or a handler host replaced. */
export const HANDLER_CANCEL_REASONS = ["timeout", "memory", "crash"] as const;

/** One of {@link HANDLER_CANCEL_REASONS}. */
export type HandlerCancelReason = typeof HANDLER_CANCEL_REASONS[number];

/** The server's own event loop, as the loop monitor samples it. */
export interface RuntimeTelemetry {
  /** How late one timer of the monitor fired past its due time (`event_loop_delay_seconds`). */
  loopDelay(seconds: number): void;
  /**
   * The share of the last window the main thread spent on the CPU, 0 to 1
   * (`event_loop_utilization`).
   */
  loopUtilization(ratio: number): void;
}

/** Upstream source events. */
export interface SourceTelemetry {
  /** `count` events (default 1): the pipeline reports once per offer. */
  eventReceived(source: string, count?: number): void;
}

/** What made the JWT key set be read again (`auth_jwks_refreshes_total{trigger}`). */
export const KEY_REFRESH_TRIGGERS = ["unknown-kid", "max-age", "file-changed"] as const;
/** How a reading of the JWT key set went (`auth_jwks_refreshes_total{outcome}`). */
export const KEY_REFRESH_OUTCOMES = ["updated", "unchanged", "failed"] as const;
/** How a reading of the revocation list went (`auth_revocation_list_refreshes_total{outcome}`). */
export const REVOCATION_OUTCOMES = ["updated", "unchanged", "failed", "shared"] as const;
/**
 * Why a trusted proxy's forwarding headers were not used (`forwarded_header_errors_total{problem}`):
 * unreadable, naming no client (`unknown`, an obfuscated name), or longer than Pharos reads.
 */
export const FORWARDED_PROBLEMS = ["malformed", "unknown-client", "too-long"] as const;

/** Authentication and client-address events. */
export interface AuthTelemetry {
  /** A reading of the JWKS source after start-up. */
  keySetRefreshed(
    trigger: typeof KEY_REFRESH_TRIGGERS[number],
    outcome: typeof KEY_REFRESH_OUTCOMES[number],
  ): void;
  /** A trusted proxy's forwarding headers named no client: the peer address was used. */
  forwardedHeaderRejected(problem: typeof FORWARDED_PROBLEMS[number]): void;
  /** A reading of the revocation list after start-up, or a list shared by another instance. */
  revocationListRefreshed(outcome: typeof REVOCATION_OUTCOMES[number]): void;
  /** The revocation list in force: its token ids and subjects (a gauge, by `kind`). */
  revocationListEntries(jti: number, sub: number): void;
  /** `count` live sessions closed because their token was revoked. */
  revokedSessionsClosed(count: number): void;
}

/** Cluster mode events; a server running alone reports none, and has none of its series. */
export interface ClusterTelemetry {
  /** Appends to the Redis log that failed (`count` events refused or retried). */
  appendFailed(count?: number): void;
  /** The log was found lost (Redis flushed, or failed over without it): a new epoch began. */
  epochChanged(): void;
}

/** What a cluster-mode instance reports when metrics are collected. */
export interface ClusterReading {
  /** Log entries after this instance's last applied position. */
  readonly lagEvents: number;
  readonly leaseHeld: boolean;
  /** Age of the latest checkpoint in Redis, seconds; undefined before the first. */
  readonly checkpointAgeSeconds: number | undefined;
  readonly redisUp: boolean;
}

/**
 * The handler hosts as the server last heard from them (`handler_host_*`), when handlers run
 * in host processes (`PHAROS_HANDLER_ISOLATION=process`).
 */
export interface HandlerHostReading {
  /** Resident set size of the active host, bytes; undefined before its first report. */
  readonly residentBytes: number | undefined;
  /** V8 heap in use in the active host, bytes; undefined before its first report. */
  readonly heapUsedBytes: number | undefined;
  /** The heap cap each host is started with (`PHAROS_HANDLER_MEMORY_MB`), bytes. */
  readonly heapLimitBytes: number;
  /**
   * User plus system CPU seconds of every host this server started, the ones replaced
   * included (each counted up to its last report): it only grows.
   */
  readonly cpuSeconds: number;
}

/** Attribute values a span may carry (ids allowed: spans are not metric labels). */
export type SpanAttributes = Readonly<Record<string, string | number | boolean>>;

/** A span being recorded. */
export interface SpanHandle {
  setAttribute(key: string, value: string | number | boolean): void;
  /** Marks the span ERROR and records the exception as a span event. */
  recordError(error: unknown): void;
  /** W3C `traceparent` of this span, to hand to work that continues it later. */
  readonly traceparent: string | undefined;
}

/** A span that outlives one call (a connection): make it active with `run`, then `end` it. */
export interface OpenSpan extends SpanHandle {
  /**
   * False when the sampler dropped this span (or nothing records): its children would be
   * dropped too, so the event path makes none.
   */
  readonly recording: boolean;
  /** Runs `fn` with this span active, so spans started inside are its children. */
  run<T>(fn: () => T): T;
  /** Links this span to the span a W3C `traceparent` names (an invalid one is ignored). */
  addLink(traceparent: string): void;
  /** Ends the span, now or at `endTime` (the clock's monotonic milliseconds). */
  end(endTime?: number): void;
}

/** Where a new span sits. */
export interface SpanOptions {
  /**
   * Start a new trace instead of a child of the active span: per-connection and
   * per-event traces and short lifecycle spans are roots, so no trace lives for weeks.
   */
  readonly root?: boolean;
  /** W3C `traceparent` to continue (a producer's, or one handed over from earlier work). */
  readonly parent?: string;
  /**
   * The parent span itself, without making it active: the event path's children
   * (`projector.mutation`, `projector.publish`) use this, so no context is entered per
   * event. Wins over `parent` and `root`.
   */
  readonly parentSpan?: OpenSpan;
  /** When the span began (the clock's monotonic milliseconds); default now. */
  readonly startTime?: number;
  readonly kind?: "internal" | "server" | "client" | "producer" | "consumer";
}

/** The span that is active now, for log correlation. */
export interface ActiveSpan {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
}

/** Tracing, as components use it. */
export interface Tracing {
  /**
   * Whether spans leave the process: a trace exporter is configured, the Deno runtime
   * exports them, or a host brought its own provider. When false, the hot paths (one span
   * per event, one per connection) make no spans at all, since nobody could look them up;
   * short lifecycle spans are still recorded so start-up log lines keep their ids.
   */
  readonly exporting: boolean;
  /**
   * Runs `fn` inside a new span and ends it when `fn` returns (or its promise settles);
   * a throw or rejection marks the span ERROR with the exception recorded.
   */
  inSpan<T>(
    name: string,
    attributes: SpanAttributes,
    fn: (span: SpanHandle) => T,
    options?: SpanOptions,
  ): T;
  /** Starts a span that the caller ends. */
  startSpan(name: string, attributes: SpanAttributes, options?: SpanOptions): OpenSpan;
  /** The active span, or undefined. */
  activeSpan(): ActiveSpan | undefined;
  /**
   * The active span's W3C `traceparent`, or undefined: where work handed to the pipeline
   * came in (an ingest request's span), for the batch span to link to.
   */
  activeTraceparent(): string | undefined;
  /**
   * Runs `fn` with no active span, so callbacks it registers (a socket's handlers) do not
   * keep the current span and its context alive as long as they live.
   */
  detached<T>(fn: () => T): T;
}

/** Readings taken when metrics are collected (observable gauges). */
export interface Observations {
  /** Readiness and each source's health. */
  health(
    read: () => {
      readonly ready: boolean;
      readonly sources: readonly { readonly name: string; readonly healthy: boolean }[];
    },
  ): void;
  /** Events waiting in the pipeline, and its capacity. */
  pipeline(read: () => { readonly pending: number; readonly capacity: number }): void;
  /**
   * Cluster mode's gauges (`cluster_log_lag_events`, `cluster_lease_held`,
   * `cluster_checkpoint_age_seconds`, `cluster_redis_up`); registering it also starts the
   * cluster counters at 0. Never called when the server runs alone.
   */
  cluster(read: () => ClusterReading): void;
  /**
   * The handler hosts' gauges and CPU counter (`handler_host_resident_memory_bytes`,
   * `handler_host_heap_used_bytes`, `handler_host_heap_limit_bytes`,
   * `handler_host_cpu_seconds_total`). Never called when handlers run in this process: those
   * series are then absent.
   */
  handlerHosts(read: () => HandlerHostReading): void;
  /**
   * Announces label values known up front, once at start-up (further calls add to them):
   * every counter and gauge labelled by them is exported at 0 from then on, so a dashboard
   * shows 0 rather than "No data" before the first event. Recording is unchanged.
   */
  catalog(known: TelemetryCatalog): void;
}

/** Label values the app knows before anything happens (see {@link Observations.catalog}). */
export interface TelemetryCatalog {
  /**
   * The stack's entities: `mutations_processed_total`, `view_cache_evictions_total`,
   * `state_table_evictions_total`, `state_table_at_capacity` (0), and
   * `handler_cancellations_total` for every reason. Default none.
   */
  readonly entities?: readonly string[];
  /** Frame modes: `frames_published_total` for each mode and entity. Default none. */
  readonly modes?: readonly string[];
  /**
   * View ids (`Token/list`, derived ones too): `subscriptions_created_total`,
   * `subscriptions_removed_total`, `projector_view_errors_total`.
   */
  readonly views?: readonly string[];
  /** Source names: `source_events_total`. Default none. */
  readonly sources?: readonly string[];
}

/** Log pipeline events. */
export interface LogTelemetry {
  linesDropped(count: number): void;
}

/** All facades together, as handed to `createApp`. */
export interface Telemetry {
  readonly ws: WsTelemetry;
  readonly projector: ProjectorTelemetry;
  readonly vm: VmTelemetry;
  readonly sources: SourceTelemetry;
  readonly cluster: ClusterTelemetry;
  readonly auth: AuthTelemetry;
  readonly log: LogTelemetry;
  readonly runtime: RuntimeTelemetry;
  readonly tracing: Tracing;
  readonly observe: Observations;
}

const noop = (): void => {};

const noopSpan: OpenSpan = Object.freeze({
  recording: false,
  setAttribute: noop,
  recordError: noop,
  traceparent: undefined,
  run: <T>(fn: () => T): T => fn(),
  addLink: noop,
  end: noop,
});

/** Tracing that records nothing. */
export const noopTracing: Tracing = Object.freeze({
  exporting: false,
  inSpan: <T>(_name: string, _attributes: SpanAttributes, fn: (span: SpanHandle) => T): T =>
    fn(noopSpan),
  startSpan: () => noopSpan,
  activeSpan: () => undefined,
  activeTraceparent: () => undefined,
  detached: <T>(fn: () => T): T => fn(),
});

/** Telemetry that records nothing. */
export const noopTelemetry: Telemetry = Object.freeze({
  ws: Object.freeze({
    connectionOpened: noop,
    connectionClosed: noop,
    framesSent: noop,
    messageReceived: noop,
    connectionError: noop,
    handshakeRejected: noop,
    slowConsumerDropped: noop,
    limitExceeded: noop,
    subscriptionCreated: noop,
    subscriptionRemoved: noop,
    unknownView: noop,
    viewForbidden: noop,
    deliveryLag: noop,
  }),
  projector: Object.freeze({
    mutationsProcessed: noop,
    framePublished: noop,
    batchDone: noop,
    viewCacheEviction: noop,
    viewError: noop,
  }),
  vm: Object.freeze({
    stateTableEviction: noop,
    stateTableAtCapacity: noop,
    pathCacheHit: noop,
    pathCacheMiss: noop,
    handlerError: noop,
    handlerCancelled: noop,
    handlerDuration: noop,
    hostRestarted: noop,
    hostBatchDone: noop,
  }),
  sources: Object.freeze({ eventReceived: noop }),
  cluster: Object.freeze({ appendFailed: noop, epochChanged: noop }),
  auth: Object.freeze({
    keySetRefreshed: noop,
    forwardedHeaderRejected: noop,
    revocationListRefreshed: noop,
    revocationListEntries: noop,
    revokedSessionsClosed: noop,
  }),
  log: Object.freeze({ linesDropped: noop }),
  runtime: Object.freeze({ loopDelay: noop, loopUtilization: noop }),
  tracing: noopTracing,
  observe: Object.freeze({
    health: noop,
    pipeline: noop,
    cluster: noop,
    handlerHosts: noop,
    catalog: noop,
  }),
});
