import { type LogFilter, parseLogFilter } from "./log_filter.ts";

/**
 * The one table of configuration options: README's configuration table and the flag
 * parser are both derived from it, so they cannot drift apart.
 */

/** How a raw string becomes a value. */
export type OptionKind =
  | "port"
  | "int"
  | "string"
  | "secret"
  | "bool"
  | "logFilter"
  | "logFormat"
  | "host"
  | "sourceKinds"
  | "names"
  | "wsUrl"
  | "replayPace"
  | "jsonObject"
  | "authMode"
  | "secretList"
  | "origins";

/** One configuration option. */
export interface OptionSpec {
  /** Field name in {@link Config}. */
  readonly key: keyof Config;
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
  readonly description: string;
  /** How README shows the default, when the value itself says too little. */
  readonly defaultText?: string;
}

/** Source kinds `PHAROS_SOURCES` may list. */
export const SOURCE_KINDS = ["demo", "ingest", "upstream", "replay"] as const;
/** A source kind. */
export type SourceKind = (typeof SOURCE_KINDS)[number];
/** Replay pace: as recorded (event timestamps) or as fast as the pipeline takes them. */
export type ReplayPace = "recorded" | "fast";

/** WebSocket authentication modes (PROTOCOL.md §6). */
export const AUTH_MODES = ["none", "static", "jwt"] as const;
/** An authentication mode. */
export type AuthMode = (typeof AUTH_MODES)[number];

/** Log output formats. */
export const LOG_FORMATS = ["text", "json"] as const;
/** A log output format. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The validated, frozen server configuration. */
export interface Config {
  readonly port: number;
  readonly hostname: string;
  readonly logFilter: LogFilter;
  readonly logFormat: LogFormat;
  readonly stackModule: string;
  readonly demoRatePerSecond: number;
  readonly demoKeys: number;
  readonly maxClients: number;
  readonly maxSubscriptionsPerClient: number;
  readonly maxMessageBytes: number;
  readonly queueMaxFrames: number;
  readonly queueMaxBytes: number;
  readonly idleTimeoutMs: number;
  readonly viewCacheSize: number;
  readonly stateTableSize: number;
  readonly handlerTimeoutMs: number;
  readonly batchMaxSize: number;
  readonly batchDelayMs: number;
  readonly shutdownTimeoutMs: number;
  readonly sources: readonly SourceKind[];
  readonly ingestToken: string;
  readonly ingestMaxBytes: number;
  readonly upstreamUrl: string;
  readonly upstreamToken: string;
  readonly upstreamSubscribe: string;
  readonly replayFile: string;
  readonly replayPace: ReplayPace;
  readonly heartbeatMs: number;
  readonly requiredSources: readonly string[];
  readonly pipelineCapacity: number;
  readonly functionCallMetrics: boolean;
  readonly authMode: AuthMode;
  readonly authTokens: readonly string[];
  readonly authIssuer: string;
  readonly authAudience: string;
  readonly authPublicKeys: string;
  readonly authPrivateKey: string;
  readonly authPublishableKeys: string;
  readonly authTokenTtlSeconds: number;
  readonly allowedOrigins: readonly string[];
  readonly adminPort: number;
  readonly adminToken: string;
  readonly maxConnectionsPerSubject: number;
  readonly maxConnectionsPerIp: number;
  readonly maxConnectionsPerOrigin: number;
  readonly handshakesPerMinutePerIp: number;
  readonly maxSnapshotRows: number;
  readonly maxMessagesPerMinute: number;
  readonly maxBytesPerMinute: number;
}

/** Defaults: what `deno task start` runs with when nothing is set. */
export const DEFAULT_CONFIG: Config = Object.freeze({
  port: 8877,
  hostname: "0.0.0.0",
  logFilter: parseLogFilter("info"),
  logFormat: "text",
  stackModule: "",
  demoRatePerSecond: 10,
  demoKeys: 20,
  maxClients: 10_000,
  maxSubscriptionsPerClient: 1_000,
  maxMessageBytes: 65_536,
  queueMaxFrames: 512,
  queueMaxBytes: 8 * 1024 * 1024,
  idleTimeoutMs: 300_000,
  viewCacheSize: 500,
  stateTableSize: 2_500,
  handlerTimeoutMs: 250,
  batchMaxSize: 256,
  batchDelayMs: 2,
  shutdownTimeoutMs: 10_000,
  // Empty means "not set": the stack module's sources run, else the demo source.
  sources: Object.freeze([] as SourceKind[]),
  ingestToken: "",
  ingestMaxBytes: 1024 * 1024,
  upstreamUrl: "",
  upstreamToken: "",
  upstreamSubscribe: "",
  replayFile: "",
  replayPace: "recorded",
  heartbeatMs: 30_000,
  requiredSources: Object.freeze([] as string[]),
  pipelineCapacity: 10_000,
  functionCallMetrics: false,
  authMode: "none",
  authTokens: Object.freeze([] as string[]),
  authIssuer: "",
  authAudience: "",
  authPublicKeys: "",
  authPrivateKey: "",
  authPublishableKeys: "",
  authTokenTtlSeconds: 300,
  allowedOrigins: Object.freeze([] as string[]),
  adminPort: -1,
  adminToken: "",
  maxConnectionsPerSubject: 100,
  maxConnectionsPerIp: 1_000,
  maxConnectionsPerOrigin: 10_000,
  handshakesPerMinutePerIp: 600,
  maxSnapshotRows: 10_000,
  maxMessagesPerMinute: 1_200,
  maxBytesPerMinute: 512 * 1024 * 1024,
});

/** Every option, in README order. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    key: "port",
    env: "PORT",
    flag: "port",
    kind: "port",
    description: "TCP port for HTTP and WebSocket (0 picks a free port)",
  },
  {
    key: "hostname",
    env: "PHAROS_HOST",
    flag: "host",
    kind: "host",
    description: "Interface to listen on",
  },
  {
    key: "logFilter",
    env: "PHAROS_LOG",
    fallbackEnv: "RUST_LOG",
    flag: "log",
    kind: "logFilter",
    defaultText: "`info`",
    description:
      "Log filter, RUST_LOG grammar: a level (trace, debug, info, warn, error, off) and/or target=level, e.g. info,pharos.ws=debug; falls back to RUST_LOG",
  },
  {
    key: "logFormat",
    env: "PHAROS_LOG_FORMAT",
    flag: "log-format",
    kind: "logFormat",
    description: "text (one human-readable line per record) or json (JSON Lines)",
  },

  {
    key: "stackModule",
    env: "PHAROS_STACK",
    flag: "stack",
    kind: "string",
    defaultText: "(built-in demo)",
    description:
      "Path or URL of a stack module (default export from defineStack); empty = built-in demo Token stack",
  },
  {
    key: "sources",
    env: "PHAROS_SOURCES",
    flag: "sources",
    kind: "sourceKinds",
    defaultText: "`demo` (or the stack module's `sources`)",
    description:
      "Comma-separated sources to run: demo, ingest, upstream, replay (each named after its kind)",
  },
  {
    key: "requiredSources",
    env: "PHAROS_REQUIRED_SOURCES",
    flag: "required-sources",
    kind: "names",
    defaultText: "(all)",
    description: "Comma-separated sources that must be healthy for /ready; empty = all",
  },
  {
    key: "heartbeatMs",
    env: "PHAROS_HEARTBEAT_MS",
    flag: "heartbeat-ms",
    kind: "int",
    min: 100,
    max: 86_400_000,
    description: "Expected event interval; a source is stale after 2 × this with no event",
  },
  {
    key: "pipelineCapacity",
    env: "PHAROS_PIPELINE_CAPACITY",
    flag: "pipeline-capacity",
    kind: "int",
    min: 1,
    max: 10_000_000,
    description:
      "Events waiting for the handlers; beyond it ingest answers 503 and other sources wait",
  },
  {
    key: "ingestToken",
    env: "PHAROS_INGEST_TOKEN",
    flag: "ingest-token",
    kind: "secret",
    defaultText: "(none)",
    description: "Bearer token for /ingest; required when ingest is enabled",
  },
  {
    key: "ingestMaxBytes",
    env: "PHAROS_INGEST_MAX_BYTES",
    flag: "ingest-max-bytes",
    kind: "int",
    min: 1024,
    max: 1024 * 1024 * 1024,
    description: "Largest POST /ingest body (413 beyond it) and WebSocket ingest message",
  },
  {
    key: "upstreamUrl",
    env: "PHAROS_UPSTREAM_URL",
    flag: "upstream-url",
    kind: "wsUrl",
    defaultText: "(none)",
    description: "ws:// or wss:// URL of the upstream event feed; required for the upstream source",
  },
  {
    key: "upstreamToken",
    env: "PHAROS_UPSTREAM_TOKEN",
    flag: "upstream-token",
    kind: "secret",
    defaultText: "(none)",
    description: "Sent to the upstream as Authorization: Bearer",
  },
  {
    key: "upstreamSubscribe",
    env: "PHAROS_UPSTREAM_SUBSCRIBE",
    flag: "upstream-subscribe",
    kind: "jsonObject",
    defaultText: "(none)",
    description:
      'JSON message sent on every (re)connect; the string "{{cursor}}" becomes the last seen _seq (the field is dropped before the first event)',
  },
  {
    key: "replayFile",
    env: "PHAROS_REPLAY_FILE",
    flag: "replay-file",
    kind: "string",
    defaultText: "(none)",
    description: "NDJSON file of events to replay; required for the replay source",
  },
  {
    key: "replayPace",
    env: "PHAROS_REPLAY_PACE",
    flag: "replay-pace",
    kind: "replayPace",
    description:
      "recorded (wait as the events' timestamps say) or fast (as fast as the pipeline takes them)",
  },
  {
    key: "demoRatePerSecond",
    env: "PHAROS_DEMO_RATE",
    flag: "demo-rate",
    kind: "int",
    min: 0,
    max: 1_000_000,
    description: "Events per second from the demo source (0 = paused)",
  },
  {
    key: "demoKeys",
    env: "PHAROS_DEMO_KEYS",
    flag: "demo-keys",
    kind: "int",
    min: 1,
    max: 1_000_000,
    description: "Distinct mints the demo source cycles through",
  },
  {
    key: "maxClients",
    env: "PHAROS_MAX_CLIENTS",
    flag: "max-clients",
    kind: "int",
    min: 1,
    max: 10_000_000,
    description: "WebSocket clients at once; beyond it the upgrade gets HTTP 503",
  },
  {
    key: "maxSubscriptionsPerClient",
    env: "PHAROS_MAX_SUBSCRIPTIONS",
    flag: "max-subscriptions",
    kind: "int",
    min: 1,
    max: 1_000_000,
    description: "Subscriptions one connection may hold (error frame beyond it)",
  },
  {
    key: "maxMessageBytes",
    env: "PHAROS_MAX_MESSAGE_BYTES",
    flag: "max-message-bytes",
    kind: "int",
    min: 256,
    max: 64 * 1024 * 1024,
    description: "Largest client message; bigger ones close the socket with 1009",
  },
  {
    key: "queueMaxFrames",
    env: "PHAROS_QUEUE_FRAMES",
    flag: "queue-frames",
    kind: "int",
    min: 1,
    max: 1_000_000,
    description: "Outbound frames queued per client before it is dropped as a slow consumer",
  },
  {
    key: "queueMaxBytes",
    env: "PHAROS_QUEUE_BYTES",
    flag: "queue-bytes",
    kind: "int",
    min: 1024,
    max: 1024 * 1024 * 1024,
    description: "Outbound bytes queued per client before it is dropped as a slow consumer",
  },
  {
    key: "idleTimeoutMs",
    env: "PHAROS_IDLE_TIMEOUT_MS",
    flag: "idle-timeout-ms",
    kind: "int",
    min: 1000,
    max: 86_400_000,
    description: "Close clients that send nothing (not even a ping) for this long",
  },
  {
    key: "viewCacheSize",
    env: "PHAROS_VIEW_CACHE_SIZE",
    flag: "view-cache-size",
    kind: "int",
    min: 1,
    max: 10_000_000,
    description: "Entities kept per view for snapshots (LRU)",
  },
  {
    key: "stateTableSize",
    env: "PHAROS_STATE_TABLE_SIZE",
    flag: "state-table-size",
    kind: "int",
    min: 1,
    max: 100_000_000,
    description: "Entities kept per entity type in the VM state table (LRU)",
  },
  {
    key: "handlerTimeoutMs",
    env: "PHAROS_HANDLER_TIMEOUT_MS",
    flag: "handler-timeout-ms",
    kind: "int",
    min: 1,
    max: 600_000,
    description: "Time budget of one handler run; over it the run is cancelled and counted",
  },
  {
    key: "batchMaxSize",
    env: "PHAROS_BATCH_MAX",
    flag: "batch-max",
    kind: "int",
    min: 1,
    max: 100_000,
    description: "Mutations per projector batch",
  },
  {
    key: "batchDelayMs",
    env: "PHAROS_BATCH_DELAY_MS",
    flag: "batch-delay-ms",
    kind: "int",
    min: 0,
    max: 10_000,
    description: "Longest a mutation waits for its batch to fill",
  },
  {
    key: "functionCallMetrics",
    env: "PHAROS_FUNCTION_CALL_METRICS",
    flag: "function-call-metrics",
    kind: "bool",
    description: "Record handler_call_duration_seconds per entity and handler (1/0, true/false)",
  },
  {
    key: "authMode",
    env: "PHAROS_AUTH",
    flag: "auth",
    kind: "authMode",
    description:
      "WebSocket authentication at the upgrade: none, static (token list) or jwt (EdDSA)",
  },
  {
    key: "authTokens",
    env: "PHAROS_AUTH_TOKENS",
    flag: "auth-tokens",
    kind: "secretList",
    defaultText: "(none)",
    description: "Comma-separated tokens accepted with PHAROS_AUTH=static",
  },
  {
    key: "authIssuer",
    env: "PHAROS_AUTH_ISSUER",
    flag: "auth-issuer",
    kind: "string",
    defaultText: "(not checked)",
    description: "Required JWT `iss`; also the issuer of tokens from the token endpoint",
  },
  {
    key: "authAudience",
    env: "PHAROS_AUTH_AUDIENCE",
    flag: "auth-audience",
    kind: "string",
    defaultText: "(not checked)",
    description: "Required JWT `aud`; also the audience of tokens from the token endpoint",
  },
  {
    key: "authPublicKeys",
    env: "PHAROS_AUTH_PUBLIC_KEYS",
    flag: "auth-public-keys",
    kind: "string",
    defaultText: "(none)",
    description: "JWKS file path or http(s) URL with the Ed25519 keys JWTs are verified with",
  },
  {
    key: "authPrivateKey",
    env: "PHAROS_AUTH_PRIVATE_KEY",
    flag: "auth-private-key",
    kind: "secret",
    defaultText: "(none)",
    description:
      "Ed25519 private JWK (one-line JSON) the token endpoint signs with; enables POST /ws/sessions",
  },
  {
    key: "authPublishableKeys",
    env: "PHAROS_AUTH_PUBLISHABLE_KEYS",
    flag: "auth-publishable-keys",
    kind: "string",
    defaultText: "(none)",
    description: "Token endpoint clients: comma-separated `KEY=ORIGIN` (ORIGIN `*` for any Origin)",
  },
  {
    key: "authTokenTtlSeconds",
    env: "PHAROS_AUTH_TOKEN_TTL_S",
    flag: "auth-token-ttl-s",
    kind: "int",
    min: 10,
    max: 86_400,
    description: "Lifetime of tokens minted by the token endpoint, seconds",
  },
  {
    key: "allowedOrigins",
    env: "PHAROS_ALLOWED_ORIGINS",
    flag: "allowed-origins",
    kind: "origins",
    defaultText: "(any)",
    description:
      "Comma-separated browser origins allowed to upgrade (403 origin-mismatch otherwise) and to call the token endpoint",
  },
  {
    key: "adminPort",
    env: "PHAROS_ADMIN_PORT",
    flag: "admin-port",
    kind: "port",
    defaultText: "(off)",
    description:
      "Serve /metrics and /status on this port only (loopback unless PHAROS_HOST says otherwise)",
  },
  {
    key: "adminToken",
    env: "PHAROS_ADMIN_TOKEN",
    flag: "admin-token",
    kind: "secret",
    defaultText: "(none)",
    description: "Bearer token required for /metrics and /status",
  },
  {
    key: "maxConnectionsPerSubject",
    env: "PHAROS_MAX_CONNECTIONS_PER_SUBJECT",
    flag: "max-connections-per-subject",
    kind: "int",
    min: 0,
    max: 10_000_000,
    description:
      "Connections per token subject (a token's `limits.max_connections` overrides); 429 beyond, 0 = no limit",
  },
  {
    key: "maxConnectionsPerIp",
    env: "PHAROS_MAX_CONNECTIONS_PER_IP",
    flag: "max-connections-per-ip",
    kind: "int",
    min: 0,
    max: 10_000_000,
    description: "Connections per client IP; 429 connection-limit-exceeded beyond, 0 = no limit",
  },
  {
    key: "maxConnectionsPerOrigin",
    env: "PHAROS_MAX_CONNECTIONS_PER_ORIGIN",
    flag: "max-connections-per-origin",
    kind: "int",
    min: 0,
    max: 10_000_000,
    description: "Connections per browser Origin; 429 beyond, 0 = no limit",
  },
  {
    key: "handshakesPerMinutePerIp",
    env: "PHAROS_HANDSHAKES_PER_MINUTE",
    flag: "handshakes-per-minute",
    kind: "int",
    min: 0,
    max: 10_000_000,
    description:
      "WebSocket upgrades per client IP per minute; 429 rate-limit-exceeded with Retry-After beyond, 0 = no limit",
  },
  {
    key: "maxSnapshotRows",
    env: "PHAROS_MAX_SNAPSHOT_ROWS",
    flag: "max-snapshot-rows",
    kind: "int",
    min: 1,
    max: 10_000_000,
    description: "Entities one subscription's snapshot sends at most (token `limits` may lower it)",
  },
  {
    key: "maxMessagesPerMinute",
    env: "PHAROS_MAX_MESSAGES_PER_MINUTE",
    flag: "max-messages-per-minute",
    kind: "int",
    min: 0,
    max: 10_000_000,
    description:
      "Client messages per connection per minute; beyond, fatal rate-limit-exceeded and close 1008; 0 = no limit",
  },
  {
    key: "maxBytesPerMinute",
    env: "PHAROS_MAX_BYTES_PER_MINUTE",
    flag: "max-bytes-per-minute",
    kind: "int",
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    description:
      "Bytes sent to one connection per minute; beyond, fatal rate-limit-exceeded and close 1008; 0 = no limit",
  },
  {
    key: "shutdownTimeoutMs",
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
  const value = DEFAULT_CONFIG[spec.key];
  return `\`${Array.isArray(value) ? value.join(",") : String(value)}\``;
}
