import { AUTH_DEFAULTS, type AuthConfig } from "./auth_config.ts";
import { CLUSTER_DEFAULTS, type ClusterConfig } from "./cluster_config.ts";
import { LOG_DEFAULTS, type LogConfig } from "./log_config.ts";
import type { LogFilter } from "../log/mod.ts";
import { BATCH_BOUNDS, PIPELINE_DEFAULTS, type PipelineConfig } from "./pipeline_config.ts";
import { PROJECTOR_DEFAULTS, type ProjectorConfig } from "./projector_config.ts";
import { SERVER_DEFAULTS, type ServerConfig } from "./server_config.ts";
import {
  DEFAULT_SOURCE_KIND,
  singletonKindNames,
  SOURCE_KIND_NAMES,
  type SourceOptionRow,
  sourceOptionRows,
  SOURCES_DEFAULTS,
  type SourcesConfig,
} from "../sources/mod.ts";
import { VM_DEFAULTS, type VmConfig } from "./vm_config.ts";
import { WS_DEFAULTS, type WsConfig } from "./ws_config.ts";

/**
 * The one table of configuration options: README's configuration table and the flag
 * parser are both derived from it, so they cannot drift apart. Each option sets one field
 * of one component's slice; the slices' own files hold their types and defaults.
 */

/**
 * The validated, frozen server configuration: one slice per component, each named as
 * that component's options, so the app hands a slice over by spreading it.
 */
export interface Config {
  readonly server: ServerConfig;
  readonly log: LogConfig;
  readonly sources: SourcesConfig;
  readonly pipeline: PipelineConfig;
  readonly vm: VmConfig;
  readonly projector: ProjectorConfig;
  readonly ws: WsConfig;
  readonly auth: AuthConfig;
  readonly cluster: ClusterConfig;
}

/** Defaults: what `deno task start` runs with when nothing is set. */
export const DEFAULT_CONFIG: Config = Object.freeze({
  server: SERVER_DEFAULTS,
  log: LOG_DEFAULTS,
  sources: SOURCES_DEFAULTS,
  pipeline: PIPELINE_DEFAULTS,
  vm: VM_DEFAULTS,
  projector: PROJECTOR_DEFAULTS,
  ws: WS_DEFAULTS,
  auth: AUTH_DEFAULTS,
  cluster: CLUSTER_DEFAULTS,
});

/** Values one option sets whole (the paths stop at them). */
type OptionValue = string | number | boolean | LogFilter | readonly unknown[];
type PathsOf<T, Prefix extends string = ""> = {
  [K in keyof T & string]: T[K] extends OptionValue ? `${Prefix}${K}`
    : PathsOf<T[K], `${Prefix}${K}.`>;
}[keyof T & string];
/**
 * Where an option's value goes in {@link Config}: `slice.field`, e.g. `ws.limits.maxSnapshotRows`.
 */
export type ConfigPath = PathsOf<Config>;

/** The value at `path` in `config`. */
export function valueAt(config: Config, path: ConfigPath): unknown {
  return path.split(".").reduce<unknown>(
    (object, key) => (object as Record<string, unknown>)[key],
    config,
  );
}

/** How a raw string becomes a value. */
export type OptionKind =
  | "port"
  | "int"
  | "ratio"
  | "string"
  | "secret"
  | "bool"
  | "logFilter"
  | "logFormat"
  | "host"
  | "choice"
  | "choiceList"
  | "names"
  | "wsUrl"
  | "jsonObject"
  | "authMode"
  | "isolation"
  | "secretList"
  | "origins"
  | "redisUrl"
  | "keyPrefix"
  | "cidrs"
  | "algorithms"
  | "viewPatterns";

/** One configuration option. */
export interface OptionSpec {
  /** The slice field it sets in {@link Config}. */
  readonly path: ConfigPath;
  /** Environment variable. */
  readonly env: string;
  /** Read when `env` is unset (e.g. `RUST_LOG` for `PHAROS_LOG`). */
  readonly fallbackEnv?: string;
  /** Command-line flag, without the leading `--`. */
  readonly flag: string;
  readonly kind: OptionKind;
  /** Inclusive lower bound for integers. */
  readonly min?: number;
  /** Inclusive upper bound for integers. */
  readonly max?: number;
  /** The values a `choice` takes, or each item of a `choiceList`. */
  readonly choices?: readonly string[];
  readonly description: string;
  /** How README shows the default, when the value itself says too little. */
  readonly defaultText?: string;
}

/** A kind's option (from the sources registry) as a row of this table. */
function toOptionSpec({ path, option }: SourceOptionRow): OptionSpec {
  const { type } = option;
  return {
    path: path as ConfigPath,
    env: option.env,
    flag: option.flag,
    kind: type.kind,
    ...(type.kind === "int" ? { min: type.min, max: type.max } : {}),
    ...(type.kind === "choice" ? { choices: type.choices } : {}),
    description: option.description,
    ...(option.defaultText === undefined ? {} : { defaultText: option.defaultText }),
  };
}

/** The options of every kind of source, as the sources registry lists them. */
const SOURCE_OPTIONS: readonly OptionSpec[] = sourceOptionRows().map(toOptionSpec);

/** Every option, in README order. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    path: "server.port",
    env: "PORT",
    flag: "port",
    kind: "port",
    description: "TCP port for HTTP and WebSocket (0 picks a free port)",
  },
  {
    path: "server.hostname",
    env: "PHAROS_HOST",
    flag: "host",
    kind: "host",
    description: "Interface to listen on",
  },
  {
    path: "log.filter",
    env: "PHAROS_LOG",
    fallbackEnv: "RUST_LOG",
    flag: "log",
    kind: "logFilter",
    defaultText: "`info`",
    description:
      "Log filter, RUST_LOG grammar: a level (trace, debug, info, warn, error, off) and/or target=level, e.g. info,pharos.ws=debug; falls back to RUST_LOG; a target Pharos does not log under is ignored with a warning",
  },
  {
    path: "log.format",
    env: "PHAROS_LOG_FORMAT",
    flag: "log-format",
    kind: "logFormat",
    description: "text (one human-readable line per record) or json (JSON Lines)",
  },

  {
    path: "server.stackModule",
    env: "PHAROS_STACK",
    flag: "stack",
    kind: "string",
    defaultText: "(built-in demo)",
    description:
      "Path or URL of a stack module (default export from defineStack); empty = built-in demo Token stack",
  },
  {
    path: "sources.kinds",
    env: "PHAROS_SOURCES",
    flag: "sources",
    kind: "choiceList",
    choices: SOURCE_KIND_NAMES,
    defaultText: `\`${DEFAULT_SOURCE_KIND}\` (or the stack module's \`sources\`)`,
    description: `Comma-separated sources to run: ${
      SOURCE_KIND_NAMES.join(", ")
    } (each named after its kind)`,
  },
  {
    path: "pipeline.requiredSources",
    env: "PHAROS_REQUIRED_SOURCES",
    flag: "required-sources",
    kind: "names",
    defaultText: "(all)",
    description: "Comma-separated sources that must be healthy for /ready; empty = all",
  },
  {
    path: "pipeline.heartbeatMs",
    env: "PHAROS_HEARTBEAT_MS",
    flag: "heartbeat-ms",
    kind: "int",
    min: 100,
    max: 86_400_000,
    description: "Expected event interval; a source is stale after 2 × this with no event",
  },
  {
    path: "pipeline.capacity",
    env: "PHAROS_PIPELINE_CAPACITY",
    flag: "pipeline-capacity",
    kind: "int",
    min: 1,
    max: 10_000_000,
    description:
      "Events waiting for the handlers; beyond it ingest answers 503 and other sources wait",
  },
  ...SOURCE_OPTIONS,
  {
    path: "ws.maxClients",
    env: "PHAROS_MAX_CLIENTS",
    flag: "max-clients",
    kind: "int",
    min: 1,
    max: 10_000_000,
    description: "WebSocket clients at once; beyond it the upgrade gets HTTP 503",
  },
  {
    path: "ws.limits.maxSubscriptions",
    env: "PHAROS_MAX_SUBSCRIPTIONS",
    flag: "max-subscriptions",
    kind: "int",
    min: 1,
    max: 1_000_000,
    description: "Subscriptions one connection may hold (error frame beyond it)",
  },
  {
    path: "ws.limits.maxMessageBytes",
    env: "PHAROS_MAX_MESSAGE_BYTES",
    flag: "max-message-bytes",
    kind: "int",
    min: 256,
    max: 64 * 1024 * 1024,
    description: "Largest client message; bigger ones close the socket with 1009",
  },
  {
    path: "ws.limits.queueMaxFrames",
    env: "PHAROS_QUEUE_FRAMES",
    flag: "queue-frames",
    kind: "int",
    min: 1,
    max: 1_000_000,
    description: "Outbound frames queued per client before it is dropped as a slow consumer",
  },
  {
    path: "ws.limits.queueMaxBytes",
    env: "PHAROS_QUEUE_BYTES",
    flag: "queue-bytes",
    kind: "int",
    min: 1024,
    max: 1024 * 1024 * 1024,
    description: "Outbound bytes queued per client before it is dropped as a slow consumer",
  },
  {
    path: "ws.idleTimeoutMs",
    env: "PHAROS_IDLE_TIMEOUT_MS",
    flag: "idle-timeout-ms",
    kind: "int",
    min: 1000,
    max: 86_400_000,
    description: "Close clients that send nothing (not even a ping) for this long",
  },
  {
    path: "projector.cacheSize",
    env: "PHAROS_VIEW_CACHE_SIZE",
    flag: "view-cache-size",
    kind: "int",
    min: 1,
    max: 10_000_000,
    description: "Entities kept per view for snapshots (LRU)",
  },
  {
    path: "vm.stateTableSize",
    env: "PHAROS_STATE_TABLE_SIZE",
    flag: "state-table-size",
    kind: "int",
    min: 1,
    max: 100_000_000,
    description: "Entities kept per entity type in the VM state table (LRU)",
  },
  {
    path: "vm.handlerTimeoutMs",
    env: "PHAROS_HANDLER_TIMEOUT_MS",
    flag: "handler-timeout-ms",
    kind: "int",
    min: 1,
    max: 600_000,
    description: "Time budget of one handler run; over it the run is cancelled and counted",
  },
  {
    path: "vm.isolation",
    env: "PHAROS_HANDLER_ISOLATION",
    flag: "handler-isolation",
    kind: "isolation",
    description:
      "process (handlers in a sandboxed host process with only the stack's permissions) or inline (in the server; for hosts that cannot start processes)",
  },
  {
    path: "vm.memoryMb",
    env: "PHAROS_HANDLER_MEMORY_MB",
    flag: "handler-memory-mb",
    kind: "int",
    min: 16,
    max: 65_536,
    description: "V8 heap limit of the handler host process, MiB; a host over it is replaced",
  },
  {
    path: "pipeline.maxBatchEvents",
    env: "PHAROS_BATCH_MAX",
    flag: "batch-max",
    kind: "int",
    min: 1,
    max: 100_000,
    description:
      `Most events the pipeline takes in one batch: their handlers run, then their changes are applied and published together (fewer when the batch would fan out to more than ${BATCH_BOUNDS.maxFrames} frames, or its handlers take over ${BATCH_BOUNDS.sliceMs} ms)`,
  },
  {
    path: "server.traceRequestsPerSecond",
    env: "PHAROS_TRACE_REQUESTS_PER_SECOND",
    flag: "trace-requests-per-second",
    kind: "int",
    min: 0,
    max: 100_000,
    description:
      "Most HTTP request spans (`POST /ingest`, `GET /ready`, upgrades) per second while spans are exported; requests over it are served without one",
  },
  {
    path: "pipeline.tracing.eventRatio",
    env: "PHAROS_TRACE_EVENT_RATIO",
    flag: "trace-event-ratio",
    kind: "ratio",
    description:
      "Share of events without a producer's traceparent that get the per-event span tree (vm.process_event → projector.mutation → projector.publish); 0 for none",
  },
  {
    path: "pipeline.tracing.eventsPerSecond",
    env: "PHAROS_TRACE_EVENTS_PER_SECOND",
    flag: "trace-events-per-second",
    kind: "int",
    min: 0,
    max: 100_000,
    description:
      "Most per-event span trees per second, for traced and sampled events together; the others are found through their batch span",
  },
  {
    path: "pipeline.tracing.batchesPerSecond",
    env: "PHAROS_TRACE_BATCHES_PER_SECOND",
    flag: "trace-batches-per-second",
    kind: "int",
    min: 1,
    max: 10_000,
    description:
      "Most batch spans (`process pipeline`) per second; batches that run faster share one span",
  },
  {
    path: "vm.functionCallMetrics",
    env: "PHAROS_FUNCTION_CALL_METRICS",
    flag: "function-call-metrics",
    kind: "bool",
    description: "Record handler_call_duration_seconds per entity and handler (1/0, true/false)",
  },
  {
    path: "auth.authMode",
    env: "PHAROS_AUTH",
    flag: "auth",
    kind: "authMode",
    description:
      "WebSocket authentication at the upgrade: none, static (token list) or jwt (EdDSA)",
  },
  {
    path: "auth.tokens",
    env: "PHAROS_AUTH_TOKENS",
    flag: "auth-tokens",
    kind: "secretList",
    defaultText: "(none)",
    description:
      "Comma-separated tokens accepted with PHAROS_AUTH=static; an entry may add ;views=P1|P2 (its view grant) and ;sub=NAME (its subject)",
  },
  {
    path: "auth.issuer",
    env: "PHAROS_AUTH_ISSUER",
    flag: "auth-issuer",
    kind: "string",
    defaultText: "(not checked)",
    description: "Required JWT `iss`; also the issuer of tokens from the token endpoint",
  },
  {
    path: "auth.audience",
    env: "PHAROS_AUTH_AUDIENCE",
    flag: "auth-audience",
    kind: "string",
    defaultText: "(not checked)",
    description: "Required JWT `aud`; also the audience of tokens from the token endpoint",
  },
  {
    path: "auth.publicKeys",
    env: "PHAROS_AUTH_PUBLIC_KEYS",
    flag: "auth-public-keys",
    kind: "string",
    defaultText: "(none)",
    description:
      "JWKS file path or http(s) URL with the keys JWTs are verified with; a URL is fetched again for an unknown kid and when older than PHAROS_AUTH_JWKS_MAX_AGE_MS, a file read again when it changes",
  },
  {
    path: "auth.algorithms",
    env: "PHAROS_AUTH_ALGORITHMS",
    flag: "auth-algorithms",
    kind: "algorithms",
    description:
      "Comma-separated JWS algorithms JWTs may be signed with: EdDSA, ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512 (never none or HMAC)",
  },
  {
    path: "auth.jwksCooldownMs",
    env: "PHAROS_AUTH_JWKS_COOLDOWN_MS",
    flag: "auth-jwks-cooldown-ms",
    kind: "int",
    min: 0,
    max: 3_600_000,
    description:
      "Least time between two fetches of a JWKS URL (a token naming an unknown kid asks for one; a JWKS file is checked for changes at most once a second)",
  },
  {
    path: "auth.jwksMaxAgeMs",
    env: "PHAROS_AUTH_JWKS_MAX_AGE_MS",
    flag: "auth-jwks-max-age-ms",
    kind: "int",
    min: 1_000,
    max: 86_400_000,
    description:
      "A JWKS URL's keys are fetched again before verifying once they are this old: a key removed from the set is refused after at most this long",
  },
  {
    path: "auth.revocationList",
    env: "PHAROS_AUTH_REVOKED",
    flag: "auth-revoked",
    kind: "string",
    defaultText: "(none)",
    description:
      'File or http(s) URL of revoked token ids and subjects, `{"jti":[…],"sub":[…]}`: refused at the upgrade and at refresh_auth, live sessions closed within 5 s; only with PHAROS_AUTH=jwt or static',
  },
  {
    path: "auth.revocationIntervalMs",
    env: "PHAROS_AUTH_REVOKED_INTERVAL_MS",
    flag: "auth-revoked-interval-ms",
    kind: "int",
    min: 250,
    max: 60_000,
    description:
      "Time from the end of one fetch of a PHAROS_AUTH_REVOKED URL to the next (a file is checked every second); a change reaches sessions within it plus the fetch",
  },
  {
    path: "auth.privateKey",
    env: "PHAROS_AUTH_PRIVATE_KEY",
    flag: "auth-private-key",
    kind: "secret",
    defaultText: "(none)",
    description:
      "Ed25519 private JWK (one-line JSON) the token endpoint signs with; enables POST /ws/sessions",
  },
  {
    path: "auth.publishableKeys",
    env: "PHAROS_AUTH_PUBLISHABLE_KEYS",
    flag: "auth-publishable-keys",
    kind: "string",
    defaultText: "(none)",
    description: "Token endpoint clients: comma-separated `KEY=ORIGIN` (ORIGIN `*` for any Origin)",
  },
  {
    path: "auth.tokenTtlSeconds",
    env: "PHAROS_AUTH_TOKEN_TTL_S",
    flag: "auth-token-ttl-s",
    kind: "int",
    min: 10,
    max: 86_400,
    description: "Lifetime of tokens minted by the token endpoint, seconds",
  },
  {
    path: "auth.defaultViews",
    env: "PHAROS_DEFAULT_VIEWS",
    flag: "default-views",
    kind: "viewPatterns",
    description:
      "Comma-separated view patterns (* matches any run: Token/*) a client may subscribe to when its token carries no views claim, and with PHAROS_AUTH=none",
  },
  {
    path: "auth.allowedOrigins",
    env: "PHAROS_ALLOWED_ORIGINS",
    flag: "allowed-origins",
    kind: "origins",
    defaultText: "(any)",
    description:
      "Comma-separated browser origins allowed to upgrade (403 origin-mismatch otherwise) and to call the token endpoint",
  },
  {
    path: "auth.trustedProxies",
    env: "PHAROS_TRUSTED_PROXIES",
    flag: "trusted-proxies",
    kind: "cidrs",
    defaultText: "(none)",
    description:
      "Comma-separated CIDRs (IPv4 and IPv6) of proxies whose Forwarded / X-Forwarded-For headers name the client: its address is what per-IP limits count and logs show",
  },
  {
    path: "server.adminPort",
    env: "PHAROS_ADMIN_PORT",
    flag: "admin-port",
    kind: "port",
    defaultText: "(off)",
    description:
      "Serve /metrics, /status, the console and /debug/* on this port only (on PHAROS_HOST, as the main listener); enables /debug/*",
  },
  {
    path: "server.adminToken",
    env: "PHAROS_ADMIN_TOKEN",
    flag: "admin-token",
    kind: "secret",
    defaultText: "(none)",
    description:
      "Bearer token required for /metrics, /status, /console/feed and /debug/*; enables /debug/*",
  },
  {
    path: "ws.admission.maxConnectionsPerSubject",
    env: "PHAROS_MAX_CONNECTIONS_PER_SUBJECT",
    flag: "max-connections-per-subject",
    kind: "int",
    min: 0,
    max: 10_000_000,
    description:
      "Connections per token subject (a token's `limits.max_connections` overrides); 429 beyond, 0 = no limit",
  },
  {
    path: "ws.admission.maxConnectionsPerIp",
    env: "PHAROS_MAX_CONNECTIONS_PER_IP",
    flag: "max-connections-per-ip",
    kind: "int",
    min: 0,
    max: 10_000_000,
    description: "Connections per client IP; 429 connection-limit-exceeded beyond, 0 = no limit",
  },
  {
    path: "ws.admission.maxConnectionsPerOrigin",
    env: "PHAROS_MAX_CONNECTIONS_PER_ORIGIN",
    flag: "max-connections-per-origin",
    kind: "int",
    min: 0,
    max: 10_000_000,
    description: "Connections per browser Origin; 429 beyond, 0 = no limit",
  },
  {
    path: "ws.admission.handshakesPerMinutePerIp",
    env: "PHAROS_HANDSHAKES_PER_MINUTE",
    flag: "handshakes-per-minute",
    kind: "int",
    min: 0,
    max: 10_000_000,
    description:
      "WebSocket upgrades per client IP per minute; 429 rate-limit-exceeded with Retry-After beyond, 0 = no limit",
  },
  {
    path: "ws.limits.maxSnapshotRows",
    env: "PHAROS_MAX_SNAPSHOT_ROWS",
    flag: "max-snapshot-rows",
    kind: "int",
    min: 1,
    max: 10_000_000,
    description: "Entities one subscription's snapshot sends at most (token `limits` may lower it)",
  },
  {
    path: "ws.limits.maxMessagesPerMinute",
    env: "PHAROS_MAX_MESSAGES_PER_MINUTE",
    flag: "max-messages-per-minute",
    kind: "int",
    min: 0,
    max: 10_000_000,
    description:
      "Client messages per connection per minute; beyond, fatal rate-limit-exceeded and close 1008; 0 = no limit",
  },
  {
    path: "ws.limits.maxBytesPerMinute",
    env: "PHAROS_MAX_BYTES_PER_MINUTE",
    flag: "max-bytes-per-minute",
    kind: "int",
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    description:
      "Bytes sent to one connection per minute; beyond, fatal rate-limit-exceeded and close 1008; 0 = no limit",
  },
  {
    path: "cluster.redisUrl",
    env: "PHAROS_REDIS_URL",
    flag: "redis-url",
    kind: "redisUrl",
    defaultText: "(none: one instance alone)",
    description:
      "Cluster mode: redis://[user:pass@]host:port[/db] (rediss:// for TLS); instances on one Redis share one ordered event log and serve the same state; unset runs alone",
  },
  {
    path: "cluster.prefix",
    env: "PHAROS_REDIS_PREFIX",
    flag: "redis-prefix",
    kind: "keyPrefix",
    description: "First part of every Redis key ({prefix}:{stack}:log, …)",
  },
  {
    path: "cluster.instanceId",
    env: "PHAROS_INSTANCE_ID",
    flag: "instance-id",
    kind: "keyPrefix",
    defaultText: "`pharos-<pid>-<random>`",
    description: "This instance's name in the cluster lease, logs and /status",
  },
  {
    path: "cluster.leaseMs",
    env: "PHAROS_CLUSTER_LEASE_MS",
    flag: "cluster-lease-ms",
    kind: "int",
    min: 300,
    max: 600_000,
    description: `Lease of the singleton sources (${
      singletonKindNames().join(", ")
    }), renewed every third of it; another instance takes over within it after the holder dies`,
  },
  {
    path: "cluster.checkpointMs",
    env: "PHAROS_CLUSTER_CHECKPOINT_MS",
    flag: "cluster-checkpoint-ms",
    kind: "int",
    min: 1_000,
    max: 86_400_000,
    description:
      "How often the lease holder checkpoints state with its log position, and trims the log behind the previous checkpoint",
  },
  {
    path: "server.shutdownTimeoutMs",
    env: "PHAROS_SHUTDOWN_TIMEOUT_MS",
    flag: "shutdown-timeout-ms",
    kind: "int",
    min: 100,
    max: 600_000,
    description: "Graceful shutdown deadline after SIGINT/SIGTERM",
  },
];

/** README's rendering of an option's default. */
export function describeDefault(spec: OptionSpec): string {
  if (spec.defaultText !== undefined) return spec.defaultText;
  const value = valueAt(DEFAULT_CONFIG, spec.path);
  return `\`${Array.isArray(value) ? value.join(",") : String(value)}\``;
}
