import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import { getLogger, type LoggingHandle, type SpanRecord } from "../log/mod.ts";
import { type Clock, systemClock } from "../util/mod.ts";
import type { Telemetry } from "./facade.ts";
import { type Env, type OtelSettings, toOtelSettings } from "./otel_env.ts";
import { safeUrl } from "./otel_exporters.ts";
import type { InstallContext, Installed } from "./otel_install.ts";
import { installLocal } from "./otel_local_mode.ts";
import { installSdk } from "./otel_sdk_mode.ts";
import { runShutdownSteps } from "./otel_shutdown.ts";
import { assembleTelemetry } from "./otel_telemetry.ts";
import type { ProcessReadings } from "./process_metrics.ts";
import { EmptyHistograms } from "./empty_histograms.ts";
import { ExemplarStore } from "./exemplars.ts";
import type { MetricsFormat } from "./openmetrics.ts";
import { createMetricsEndpoint } from "./prometheus.ts";
import { init, type InitOptions, type TelemetryConfig } from "./telemetry_config.ts";

/**
 * How `initWithOtel` runs:
 * - `sdk`: Pharos installs the OpenTelemetry SDK (providers, context manager, propagator).
 * - `deno`: `OTEL_DENO=true`; the Deno runtime's providers record and export, Pharos installs
 *   nothing global.
 * - `disabled`: `OTEL_SDK_DISABLED=true`; no spans, no export, only `/metrics`.
 */
export type OtelMode = "sdk" | "deno" | "disabled";

/** Options of {@link initWithOtel}, besides those of `init` (log output and clock). */
export interface OtelInitOptions extends Omit<InitOptions, "currentSpan" | "also"> {
  /**
   * The environment to read `OTEL_*` variables from. Default `{}`: only `main.ts` reads the
   * process environment, and passes all of it here.
   */
  readonly env?: Env;
  /** `service.version` (unless `OTEL_RESOURCE_ATTRIBUTES` sets one) and scope version. */
  readonly serviceVersion?: string;
  /** Register and record `handler_call_duration_seconds`. Default false. */
  readonly functionCallMetrics?: boolean;
  /**
   * Also receives every log record the filter allows, with its span (the console's recent
   * warnings). It must not throw, and must copy what it keeps.
   */
  readonly onLogRecord?: (record: SpanRecord) => void;
  /** Minimum time between export-failure warnings per signal. Default 30 000. */
  readonly exportWarnIntervalMs?: number;
  /**
   * Budget for flushing and shutting down on disposal; what is not exported by then is
   * dropped (a collector that is down must not hold the process). Default 5000.
   */
  readonly shutdownTimeoutMs?: number;
  /** Process readings for the `process_*` metrics (tests). Default: the Deno process. */
  readonly processReadings?: ProcessReadings;
}

/** What {@link initWithOtel} set up; dispose it (`await using`) to flush and shut down. */
export interface OtelGuard extends AsyncDisposable {
  /** Hand this to `createApp`. */
  readonly telemetry: Telemetry;
  /** The logging `initWithOtel` configured (disposed with the guard). */
  readonly logging: LoggingHandle;
  readonly mode: OtelMode;
  /** The settings derived from config and environment (endpoints, sampler, intervals). */
  readonly settings: OtelSettings;
  /**
   * The current metrics for `GET /metrics`: Prometheus text, or OpenMetrics with the latency
   * histograms' exemplars.
   */
  renderMetrics(format?: MetricsFormat): Promise<string>;
  /** Same as {@link OtelGuard.renderMetrics} (the seed's name). */
  metricsText(format?: MetricsFormat): Promise<string>;
}

/**
 * Sets up logging and OpenTelemetry (the seed's `init_with_otel`) and returns a guard whose
 * disposal flushes spans, exports the last metrics, then the last log records, and shuts the
 * providers down.
 *
 * - **Export** happens only when an endpoint is configured: `config.otlpEndpoint`,
 *   `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces`, `/v1/metrics`, `/v1/logs` appended) or the
 *   signal-specific `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT` (as given);
 *   `OTEL_{TRACES,METRICS,LOGS}_EXPORTER=none` turns one signal off. Without one,
 *   spans are still recorded (log lines carry trace ids) and `/metrics` still works; nothing
 *   is sent to a default `localhost:4318` that is probably not there.
 * - **SDK mode** registers the SDK providers, an `AsyncLocalStorageContextManager` and the W3C
 *   trace-context + baggage propagator globally (unregistered on disposal).
 * - **Deno-native mode** (`OTEL_DENO=true`) installs nothing: metrics and spans go to the
 *   runtime's providers (`metrics.getMeterProvider()`, `trace.getTracerProvider()`), which
 *   Deno exports once. The runtime offers nothing to read back, so every metric is recorded
 *   twice: to the runtime's meter (exported) and to a local, pull-only MeterProvider that only
 *   `/metrics` reads (never exported, so nothing reaches the collector twice). Export failures
 *   of spans and metrics are the runtime's to handle there and are not counted. The runtime
 *   has no logs API for Pharos's records (it only exports `console.*` output), so log records
 *   go through Pharos's own LoggerProvider and OTLP exporter (not registered globally), to the
 *   same endpoint the runtime uses (`http://localhost:4318` by default), with their failures
 *   counted.
 * - **Log records**: every record the log filter allows also goes out as an OTLP log record
 *   (see `otlp_logs.ts`), through a bounded BatchLogRecordProcessor (`OTEL_BLRP_*`).
 * - **Resilience**: exports run in the background through bounded queues (BatchSpanProcessor
 *   `maxQueueSize`, OTLP `concurrencyLimit`); failures never throw into Pharos, are counted in
 *   `telemetry_export_failures_total{signal}` and logged at most once per 30 s per signal.
 *   Spans dropped on a full queue are counted by the SDK's own
 *   `otel_sdk_processor_span_processed_total{error_type="queue_full"}`.
 */
export async function initWithOtel(
  config: TelemetryConfig,
  options: OtelInitOptions = {},
): Promise<OtelGuard> {
  const clock: Clock = options.clock ?? systemClock;
  const settings = toOtelSettings({
    serviceName: config.serviceName,
    otlpEndpoint: config.otlpEndpoint,
    ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion }),
  }, options.env ?? {});
  const mode: OtelMode = settings.denoNative ? "deno" : settings.disabled ? "disabled" : "sdk";
  const exemplars = new ExemplarStore(() => clock.now());
  const emptyHistograms = new EmptyHistograms();
  const endpoint = createMetricsEndpoint({ exemplars, emptyHistograms });
  const install: InstallContext = {
    settings,
    resource: defaultResource().merge(resourceFromAttributes(settings.resource)),
    pullReader: endpoint.reader,
    clock,
    exportWarnIntervalMs: options.exportWarnIntervalMs,
    version: options.serviceVersion,
  };
  const installed = mode === "sdk" ? installSdk(install) : installLocal(mode, install);

  const { telemetry, metrics: facades } = assembleTelemetry({
    meters: installed.meters,
    tracer: installed.tracer,
    exportSignals: installed.exportSignals,
    exemplars,
    emptyHistograms,
    // The runtime exports what it records; the SDK only when a traces endpoint is set.
    tracesExported: mode === "deno" || (mode === "sdk" && settings.traces !== undefined),
    ...(options.functionCallMetrics === undefined
      ? {}
      : { functionCallMetrics: options.functionCallMetrics }),
    ...(options.processReadings === undefined ? {} : { processReadings: options.processReadings }),
  });
  installed.onExportFailure.count = (signal) => facades.exportFailed(signal);

  const logging = await startLogging(config, options, { clock, telemetry, installed });
  facades.countLogDrops(() => logging.droppedLines);
  logSetUp(mode, settings, installed);

  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 5000;
  let disposed: Promise<void> | undefined;
  const dispose = async () => {
    await runShutdownSteps(installed.shutdownSteps, { timeoutMs: shutdownTimeoutMs, clock });
    await logging[Symbol.asyncDispose]();
  };
  const renderMetrics = (format?: MetricsFormat) => endpoint.render(format);
  return {
    telemetry,
    logging,
    mode,
    settings,
    renderMetrics,
    metricsText: renderMetrics,
    [Symbol.asyncDispose]() {
      disposed ??= dispose();
      return disposed;
    },
  };
}

/**
 * Sets up logging with trace correlation, handing each record to the OTLP log pipeline (when
 * there is one) and to `options.onLogRecord`.
 */
async function startLogging(
  config: TelemetryConfig,
  options: OtelInitOptions,
  parts: {
    readonly clock: Clock;
    readonly telemetry: Telemetry;
    readonly installed: Installed;
  },
): Promise<LoggingHandle> {
  const { installed, telemetry } = parts;
  try {
    return await init(config, {
      ...(options.writable === undefined ? {} : { writable: options.writable }),
      clock: parts.clock,
      currentSpan: () => telemetry.tracing.activeSpan(),
      ...alsoLog(installed.onLogRecord, options.onLogRecord),
    });
  } catch (error) {
    // Leave nothing installed behind a failed start-up.
    for (const [, work] of installed.shutdownSteps) await work().catch(() => {});
    throw error;
  }
}

/** The `also` log hook that hands each record to every receiver given. */
function alsoLog(
  ...receivers: (((record: SpanRecord) => void) | undefined)[]
): { also?: (record: SpanRecord) => void } {
  const present = receivers.filter((r): r is (record: SpanRecord) => void => r !== undefined);
  if (present.length === 0) return {};
  if (present.length === 1) return { also: present[0]! };
  return {
    also: (record) => {
      for (const receive of present) receive(record);
    },
  };
}

/** Logs the ignored settings, then where each signal goes (credentials left out). */
function logSetUp(mode: OtelMode, settings: OtelSettings, installed: Installed): void {
  const log = getLogger(["pharos", "telemetry"]);
  for (const warning of settings.warnings) {
    log.warn("Ignored OpenTelemetry setting: {warning}", { warning });
  }
  log.info("OpenTelemetry set up ({mode} mode)", {
    mode,
    traces: mode === "deno" ? "runtime" : safeUrl(settings.traces),
    metrics: mode === "deno" ? "runtime" : safeUrl(settings.metrics),
    logs: installed.onLogRecord === undefined ? "off" : safeUrl(settings.logs),
    sampler: settings.sampler.name,
    service: settings.resource["service.name"],
  });
}
