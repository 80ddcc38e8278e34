/** Environment variables, as `main.ts` hands them over (the whole process environment). */
export type Env = Readonly<Record<string, string | undefined>>;

/** Sampler names of `OTEL_TRACES_SAMPLER` that Pharos supports. */
export const SAMPLER_NAMES = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;

/** One of {@link SAMPLER_NAMES}. */
export type SamplerName = typeof SAMPLER_NAMES[number];

/** Where and how one signal is exported over OTLP/HTTP protobuf. */
export interface OtlpTarget {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly gzip: boolean;
}

/** The OpenTelemetry settings `initWithOtel` derives from config and environment. */
export interface OtelSettings {
  /** `OTEL_DENO=true`: the Deno runtime's own OpenTelemetry exports; no SDK is installed. */
  readonly denoNative: boolean;
  /** `OTEL_SDK_DISABLED=true`: nothing is exported and spans are not recorded. */
  readonly disabled: boolean;
  /** Resource attributes, `service.name` and `service.version` included. */
  readonly resource: Readonly<Record<string, string>>;
  /** Undefined: spans are recorded (for log correlation) but not exported. */
  readonly traces: OtlpTarget | undefined;
  /** Undefined: metrics are only served on `/metrics`. */
  readonly metrics: OtlpTarget | undefined;
  /**
   * Undefined: log records only go to stdout. In Deno-native mode without any endpoint, the
   * runtime's default (`http://localhost:4318`) is used, as the runtime does for the others.
   */
  readonly logs: OtlpTarget | undefined;
  readonly sampler: { readonly name: SamplerName; readonly ratio: number };
  readonly metricExportIntervalMs: number;
  readonly metricExportTimeoutMs: number;
  readonly spanQueue: {
    readonly maxQueueSize: number;
    readonly maxExportBatchSize: number;
    readonly scheduledDelayMs: number;
    readonly exportTimeoutMs: number;
  };
  /** The log record queue (`OTEL_BLRP_*`), as {@link OtelSettings.spanQueue} for spans. */
  readonly logQueue: {
    readonly maxQueueSize: number;
    readonly maxExportBatchSize: number;
    readonly scheduledDelayMs: number;
    readonly exportTimeoutMs: number;
  };
  /** Values that were ignored, worded for a WARN line each. */
  readonly warnings: readonly string[];
}

/** What {@link toOtelSettings} needs besides the environment. */
export interface OtelSettingsInput {
  readonly serviceName: string;
  readonly serviceVersion?: string;
  /** `TelemetryConfig.otlpEndpoint`: base URL, signal paths appended. */
  readonly otlpEndpoint?: string | undefined;
}

const DEFAULTS = Object.freeze({
  exportTimeoutMs: 10_000,
  metricExportIntervalMs: 60_000,
  metricExportTimeoutMs: 30_000,
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
  scheduledDelayMs: 5000,
  spanExportTimeoutMs: 30_000,
  logScheduledDelayMs: 1000,
});

/** The OTLP/HTTP base URL the Deno runtime exports to when no endpoint is set. */
const DENO_DEFAULT_ENDPOINT = "http://localhost:4318";

type Signal = "TRACES" | "METRICS" | "LOGS";

const SIGNAL_PATHS: Readonly<Record<Signal, string>> = {
  TRACES: "v1/traces",
  METRICS: "v1/metrics",
  LOGS: "v1/logs",
};

/**
 * Parses `key=value,key2=value2` (W3C-baggage-like, values percent-encoded), as used by
 * `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS`. Malformed entries are reported
 * and skipped.
 */
export function parseKeyValueList(
  raw: string,
  variable: string,
  warnings: string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of raw.split(",")) {
    if (entry.trim() === "") continue;
    const eq = entry.indexOf("=");
    const key = eq < 0 ? "" : entry.slice(0, eq).trim();
    if (key === "") {
      warnings.push(`${variable}: ignored ${JSON.stringify(entry.trim())} (expected key=value)`);
      continue;
    }
    try {
      out[decodeURIComponent(key)] = decodeURIComponent(entry.slice(eq + 1).trim());
    } catch {
      warnings.push(`${variable}: ignored ${JSON.stringify(key)} (invalid percent-encoding)`);
    }
  }
  return out;
}

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

function isTrue(env: Env, name: string): boolean {
  return read(env, name)?.toLowerCase() === "true";
}

function positiveInt(env: Env, name: string, fallback: number, warnings: string[]): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (Number.isInteger(value) && value > 0) return value;
  warnings.push(`${name}=${JSON.stringify(raw)}: expected a positive integer; using ${fallback}`);
  return fallback;
}

function validUrl(
  url: string,
  source: string,
  warnings: string[],
  raw = url,
): string | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === "http:" || parsed.protocol === "https:") return parsed.href;
  } catch {
    // reported below
  }
  warnings.push(
    `${source}=${JSON.stringify(raw)}: not an http(s) URL; that signal is not exported`,
  );
  return undefined;
}

/** `base` + `/v1/traces`, keeping any path prefix of `base` (as the OTLP spec asks). */
function appendSignalPath(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path}`;
}

function target(
  env: Env,
  signal: Signal,
  input: OtelSettingsInput,
  warnings: string[],
  fallbackBase?: string,
): OtlpTarget | undefined {
  const exporter = read(env, `OTEL_${signal}_EXPORTER`)?.toLowerCase();
  if (exporter === "none") return undefined;
  if (exporter !== undefined && exporter !== "otlp") {
    warnings.push(`OTEL_${signal}_EXPORTER=${exporter}: only otlp (or none) is supported`);
  }
  const path = SIGNAL_PATHS[signal];
  const specific = read(env, `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`);
  const general = read(env, "OTEL_EXPORTER_OTLP_ENDPOINT") ?? fallbackBase;
  const configured = input.otlpEndpoint?.trim() || undefined;
  // Signal-specific env (as-is) > config endpoint > general env (both + /v1/<signal>). With
  // none of them, the signal is not exported at all: an unconfigured server should not spend
  // effort (and warnings) on a localhost:4318 collector that is probably not there.
  let url: string | undefined;
  if (specific !== undefined) {
    url = validUrl(specific, `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`, warnings);
  } else if (configured !== undefined) {
    url = validUrl(appendSignalPath(configured, path), "otlpEndpoint", warnings, configured);
  } else if (general !== undefined) {
    url = validUrl(
      appendSignalPath(general, path),
      "OTEL_EXPORTER_OTLP_ENDPOINT",
      warnings,
      general,
    );
  }
  if (url === undefined) return undefined;

  const protocol = read(env, `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`) ??
    read(env, "OTEL_EXPORTER_OTLP_PROTOCOL");
  if (protocol !== undefined && protocol !== "http/protobuf") {
    warnings.push(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: Pharos exports http/protobuf`);
  }
  const compression = (read(env, `OTEL_EXPORTER_OTLP_${signal}_COMPRESSION`) ??
    read(env, "OTEL_EXPORTER_OTLP_COMPRESSION"))?.toLowerCase();
  if (compression !== undefined && compression !== "gzip" && compression !== "none") {
    warnings.push(`OTEL_EXPORTER_OTLP_COMPRESSION=${compression}: expected gzip or none`);
  }
  const headers = {
    ...parseKeyValueList(
      read(env, "OTEL_EXPORTER_OTLP_HEADERS") ?? "",
      "OTEL_EXPORTER_OTLP_HEADERS",
      warnings,
    ),
    ...parseKeyValueList(
      read(env, `OTEL_EXPORTER_OTLP_${signal}_HEADERS`) ?? "",
      `OTEL_EXPORTER_OTLP_${signal}_HEADERS`,
      warnings,
    ),
  };
  const timeoutMs = positiveInt(
    env,
    `OTEL_EXPORTER_OTLP_${signal}_TIMEOUT`,
    positiveInt(env, "OTEL_EXPORTER_OTLP_TIMEOUT", DEFAULTS.exportTimeoutMs, warnings),
    warnings,
  );
  return Object.freeze({ url, headers, timeoutMs, gzip: compression === "gzip" });
}

function sampler(env: Env, warnings: string[]): OtelSettings["sampler"] {
  const raw = read(env, "OTEL_TRACES_SAMPLER")?.toLowerCase() ?? "parentbased_always_on";
  let name: SamplerName = "parentbased_always_on";
  if ((SAMPLER_NAMES as readonly string[]).includes(raw)) name = raw as SamplerName;
  else warnings.push(`OTEL_TRACES_SAMPLER=${raw}: unsupported; using parentbased_always_on`);
  let ratio = 1;
  const arg = read(env, "OTEL_TRACES_SAMPLER_ARG");
  if (name.endsWith("traceidratio") && arg !== undefined) {
    const value = Number(arg);
    if (Number.isFinite(value) && value >= 0 && value <= 1) ratio = value;
    else warnings.push(`OTEL_TRACES_SAMPLER_ARG=${arg}: expected a ratio in [0, 1]; using 1`);
  }
  return Object.freeze({ name, ratio });
}

/**
 * Derives the OpenTelemetry settings from `input` and the standard `OTEL_*` variables in `env`.
 * Never throws: a value that cannot be used is ignored with a warning (the OpenTelemetry
 * convention for SDK configuration), reported in `warnings`.
 *
 * Precedence: `service.name` is `OTEL_SERVICE_NAME`, else `service.name` in
 * `OTEL_RESOURCE_ATTRIBUTES`, else `input.serviceName`; `service.version` is the one in
 * `OTEL_RESOURCE_ATTRIBUTES`, else `input.serviceVersion`.
 */
export function toOtelSettings(input: OtelSettingsInput, env: Env): OtelSettings {
  const warnings: string[] = [];
  const attributes = parseKeyValueList(
    read(env, "OTEL_RESOURCE_ATTRIBUTES") ?? "",
    "OTEL_RESOURCE_ATTRIBUTES",
    warnings,
  );
  const resource: Record<string, string> = {
    ...(input.serviceVersion === undefined ? {} : { "service.version": input.serviceVersion }),
    ...attributes,
    "service.name": read(env, "OTEL_SERVICE_NAME") ?? attributes["service.name"] ??
      input.serviceName,
  };
  const disabled = isTrue(env, "OTEL_SDK_DISABLED");
  const metricExportIntervalMs = positiveInt(
    env,
    "OTEL_METRIC_EXPORT_INTERVAL",
    DEFAULTS.metricExportIntervalMs,
    warnings,
  );
  const maxQueueSize = positiveInt(env, "OTEL_BSP_MAX_QUEUE_SIZE", DEFAULTS.maxQueueSize, warnings);
  const logMaxQueueSize = positiveInt(
    env,
    "OTEL_BLRP_MAX_QUEUE_SIZE",
    DEFAULTS.maxQueueSize,
    warnings,
  );
  const denoNative = isTrue(env, "OTEL_DENO");
  return Object.freeze({
    denoNative,
    disabled,
    resource: Object.freeze(resource),
    traces: disabled ? undefined : target(env, "TRACES", input, warnings),
    metrics: disabled ? undefined : target(env, "METRICS", input, warnings),
    // The runtime has no logs API for Pharos's records, so Pharos exports them itself, to
    // where the runtime sends everything else.
    logs: disabled
      ? undefined
      : target(env, "LOGS", input, warnings, denoNative ? DENO_DEFAULT_ENDPOINT : undefined),
    sampler: sampler(env, warnings),
    metricExportIntervalMs,
    // The reader refuses a timeout longer than the interval.
    metricExportTimeoutMs: Math.min(
      metricExportIntervalMs,
      positiveInt(env, "OTEL_METRIC_EXPORT_TIMEOUT", DEFAULTS.metricExportTimeoutMs, warnings),
    ),
    spanQueue: Object.freeze({
      maxQueueSize,
      maxExportBatchSize: Math.min(
        maxQueueSize,
        positiveInt(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", DEFAULTS.maxExportBatchSize, warnings),
      ),
      scheduledDelayMs: positiveInt(
        env,
        "OTEL_BSP_SCHEDULE_DELAY",
        DEFAULTS.scheduledDelayMs,
        warnings,
      ),
      exportTimeoutMs: positiveInt(
        env,
        "OTEL_BSP_EXPORT_TIMEOUT",
        DEFAULTS.spanExportTimeoutMs,
        warnings,
      ),
    }),
    logQueue: Object.freeze({
      maxQueueSize: logMaxQueueSize,
      maxExportBatchSize: Math.min(
        logMaxQueueSize,
        positiveInt(env, "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", DEFAULTS.maxExportBatchSize, warnings),
      ),
      scheduledDelayMs: positiveInt(
        env,
        "OTEL_BLRP_SCHEDULE_DELAY",
        DEFAULTS.logScheduledDelayMs,
        warnings,
      ),
      exportTimeoutMs: positiveInt(
        env,
        "OTEL_BLRP_EXPORT_TIMEOUT",
        DEFAULTS.spanExportTimeoutMs,
        warnings,
      ),
    }),
    warnings: Object.freeze(warnings),
  });
}
