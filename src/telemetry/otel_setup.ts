import {
  context,
  type Meter,
  metrics,
  propagation,
  ProxyTracerProvider,
  trace,
  type Tracer,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from "@opentelemetry/core";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  type IMetricReader,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { getLogger, type LoggingHandle, type SpanRecord } from "../log/mod.ts";
import { type Clock, systemClock } from "../util/mod.ts";
import type { Telemetry } from "./facade.ts";
import { type Env, type OtelSettings, type OtlpTarget, toOtelSettings } from "./otel_env.ts";
import { assembleTelemetry, METER_NAME } from "./otel_telemetry.ts";
import { TRACER_NAME } from "./otel_tracing.ts";
import { createOtlpLogs, type OtlpLogs } from "./otlp_logs.ts";
import type { ProcessReadings } from "./process_metrics.ts";
import { createMetricsEndpoint } from "./prometheus.ts";
import {
  createExportOutcomes,
  type ExportSignal,
  ResilientMetricExporter,
  ResilientSpanExporter,
} from "./resilient_export.ts";
import { init, type InitOptions, type TelemetryConfig } from "./telemetry_config.ts";

/**
 * How `initWithOtel` runs:
 * - `sdk`: Pharos installs the OpenTelemetry SDK (providers, context manager, propagator).
 * - `deno`: `OTEL_DENO=true`; the Deno runtime's providers record and export, Pharos installs
 *   nothing global.
 * - `disabled`: `OTEL_SDK_DISABLED=true`; no spans, no export, only `/metrics`.
 */
export type OtelMode = "sdk" | "deno" | "disabled";

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
  /** The current metrics in the Prometheus text format, for `GET /metrics`. */
  renderMetrics(): Promise<string>;
  /** Same as {@link OtelGuard.renderMetrics} (the seed's name). */
  metricsText(): Promise<string>;
}

function toSampler(settings: OtelSettings["sampler"]): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(settings.ratio);
  switch (settings.name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return ratio();
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: ratio() });
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

type ExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

function exporterConfig(target: OtlpTarget): ExporterConfig {
  return {
    url: target.url,
    headers: { ...target.headers },
    timeoutMillis: target.timeoutMs,
    // The enum lives in otlp-exporter-base, which the import map does not name.
    compression: (target.gzip ? "gzip" : "none") as unknown as NonNullable<
      ExporterConfig["compression"]
    >,
  };
}

/** The URL without credentials, for logs. */
function safeUrl(target: OtlpTarget | undefined): string {
  if (target === undefined) return "off";
  const url = new URL(target.url);
  url.username = "";
  url.password = "";
  return url.href;
}

/** A signal whose export failures are counted (`logs` included). */
type CountedSignal = ExportSignal;

interface Installed {
  readonly meters: readonly Meter[];
  readonly tracer: Tracer;
  readonly exportSignals: readonly CountedSignal[];
  /** Wires the failure counter into the exporters once the facades exist. */
  readonly onExportFailure: { count: (signal: CountedSignal) => void };
  /** Receives every record the log filter allows, when log records are exported. */
  readonly onLogRecord: ((record: SpanRecord) => void) | undefined;
  /** Flushes and shuts down, in order; each step may be abandoned at the deadline. */
  readonly shutdownSteps: readonly (readonly [string, () => Promise<void>])[];
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
  const version = options.serviceVersion;
  const resource = defaultResource().merge(resourceFromAttributes(settings.resource));
  const endpoint = createMetricsEndpoint();

  const installed = mode === "sdk"
    ? installSdk(settings, resource, endpoint.reader, clock, options, version)
    : installLocal(mode, resource, endpoint.reader, clock, options, settings, version);

  const { telemetry, metrics: facades } = assembleTelemetry({
    meters: installed.meters,
    tracer: installed.tracer,
    exportSignals: installed.exportSignals,
    // The runtime exports what it records; the SDK only when a traces endpoint is set.
    tracesExported: mode === "deno" || (mode === "sdk" && settings.traces !== undefined),
    ...(options.functionCallMetrics === undefined
      ? {}
      : { functionCallMetrics: options.functionCallMetrics }),
    ...(options.processReadings === undefined ? {} : { processReadings: options.processReadings }),
  });
  installed.onExportFailure.count = (signal) => facades.exportFailed(signal);

  let logging: LoggingHandle;
  try {
    logging = await init(config, {
      ...(options.writable === undefined ? {} : { writable: options.writable }),
      clock,
      currentSpan: () => telemetry.tracing.activeSpan(),
      ...alsoLog(installed.onLogRecord, options.onLogRecord),
    });
  } catch (error) {
    // Leave nothing installed behind a failed start-up.
    for (const [, work] of installed.shutdownSteps) await work().catch(() => {});
    throw error;
  }
  facades.countLogDrops(() => logging.droppedLines);

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

  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 5000;
  let disposed: Promise<void> | undefined;
  const dispose = async () => {
    const deadline = clock.monotonic() + shutdownTimeoutMs;
    for (const [name, work] of installed.shutdownSteps) {
      await withDeadline(name, work, deadline - clock.monotonic(), clock);
    }
    await logging[Symbol.asyncDispose]();
  };
  const renderMetrics = () => endpoint.render();
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

/** Runs one shutdown step, giving up (with a warning) after `budgetMs`; never rejects. */
async function withDeadline(
  name: string,
  work: () => Promise<void>,
  budgetMs: number,
  clock: Clock,
): Promise<void> {
  const log = getLogger(["pharos", "telemetry"]);
  let timer: Disposable | undefined;
  try {
    const outcome = await Promise.race([
      // The step keeps running if abandoned; its failure must not surface as unhandled.
      work().then(() => "done" as const, (error: unknown) => ({ error })),
      new Promise<"timeout">((resolve) => {
        timer = clock.setTimer(Math.max(0, budgetMs), () => resolve("timeout"));
      }),
    ]);
    if (outcome === "timeout") {
      log.warn("OpenTelemetry shutdown: {step} did not finish in time; dropping what is left", {
        step: name,
      });
    } else if (outcome !== "done") {
      log.warn("OpenTelemetry shutdown: {step} failed: {error}", {
        step: name,
        error: outcome.error,
      });
    }
  } finally {
    timer?.[Symbol.dispose]();
  }
}

type Resource = ReturnType<typeof defaultResource>;

function installSdk(
  settings: OtelSettings,
  resource: Resource,
  pullReader: IMetricReader,
  clock: Clock,
  options: OtelInitOptions,
  version: string | undefined,
): Installed {
  const onExportFailure = { count: (_signal: CountedSignal) => {} };
  const outcomes = outcomesFor(clock, options, onExportFailure);

  const readers: IMetricReader[] = [pullReader];
  if (settings.metrics !== undefined) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new ResilientMetricExporter(
          new OTLPMetricExporter(exporterConfig(settings.metrics)),
          outcomes("metrics"),
        ),
        exportIntervalMillis: settings.metricExportIntervalMs,
        exportTimeoutMillis: settings.metricExportTimeoutMs,
      }),
    );
  }
  const meterProvider = new MeterProvider({ resource, readers });

  const spanProcessors: SpanProcessor[] = [];
  if (settings.traces !== undefined) {
    spanProcessors.push(
      new BatchSpanProcessor({
        exporter: new ResilientSpanExporter(
          new OTLPTraceExporter(exporterConfig(settings.traces)),
          outcomes("traces"),
        ),
        maxQueueSize: settings.spanQueue.maxQueueSize,
        maxExportBatchSize: settings.spanQueue.maxExportBatchSize,
        scheduledDelayMillis: settings.spanQueue.scheduledDelayMs,
        exportTimeoutMillis: settings.spanQueue.exportTimeoutMs,
        // Queue size, capacity and dropped spans as the SDK's own metrics.
        selfObsMeterProvider: meterProvider,
      }),
    );
  }
  // Without a traces endpoint spans are still recorded (no processor): log lines keep their
  // trace and span ids, and sampling decisions still propagate.
  const tracerProvider = new TracerProvider({
    resource,
    sampler: toSampler(settings.sampler),
    spanProcessors,
  });

  const contextManager = new AsyncLocalStorageContextManager().enable();
  const registered = {
    context: context.setGlobalContextManager(contextManager),
    propagation: propagation.setGlobalPropagator(
      new CompositePropagator({
        propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
      }),
    ),
    trace: trace.setGlobalTracerProvider(tracerProvider),
    metrics: metrics.setGlobalMeterProvider(meterProvider),
  };
  // Another SDK got there first: ours still records (through its own providers), but the
  // unused context manager must not stay enabled.
  if (!registered.context) contextManager.disable();

  const logs = installLogs(settings, resource, outcomes, version, meterProvider);

  const exportSignals: CountedSignal[] = [];
  if (settings.traces !== undefined) exportSignals.push("traces");
  if (settings.metrics !== undefined) exportSignals.push("metrics");
  if (logs !== undefined) exportSignals.push("logs");

  return {
    meters: [meterProvider.getMeter(METER_NAME, version)],
    tracer: tracerProvider.getTracer(TRACER_NAME, version),
    exportSignals,
    onExportFailure,
    onLogRecord: logs?.emit,
    shutdownSteps: [
      ["flushing spans", () => tracerProvider.forceFlush()],
      ["shutting down tracing", () => tracerProvider.shutdown()],
      // After spans, so the final export carries the failures and drops counted above.
      ["exporting the last metrics", () => meterProvider.shutdown()],
      // Last, so the records about shutting down (and any failure above) are in it.
      ...logsShutdownSteps(logs),
      ["unregistering globals", () => {
        if (registered.trace) trace.disable();
        if (registered.metrics) metrics.disable();
        if (registered.propagation) propagation.disable();
        if (registered.context) context.disable(); // disables the context manager too
        return Promise.resolve();
      }],
    ],
  };
}

/** Export outcomes of one signal, counted through `counter` once the facades exist. */
function outcomesFor(
  clock: Clock,
  options: OtelInitOptions,
  counter: { count: (signal: CountedSignal) => void },
): (signal: CountedSignal) => ReturnType<typeof createExportOutcomes> {
  return (signal) =>
    createExportOutcomes({
      signal,
      clock,
      count: () => counter.count(signal),
      ...(options.exportWarnIntervalMs === undefined
        ? {}
        : { warnIntervalMs: options.exportWarnIntervalMs }),
    });
}

/** The OTLP log pipeline, when a logs endpoint is configured. */
function installLogs(
  settings: OtelSettings,
  resource: Resource,
  outcomes: (signal: CountedSignal) => ReturnType<typeof createExportOutcomes>,
  version: string | undefined,
  selfObsMeterProvider?: MeterProvider,
): OtlpLogs | undefined {
  if (settings.logs === undefined) return undefined;
  return createOtlpLogs({
    target: settings.logs,
    queue: settings.logQueue,
    resource,
    outcomes: outcomes("logs"),
    ...(version === undefined ? {} : { version }),
    ...(selfObsMeterProvider === undefined ? {} : { selfObsMeterProvider }),
  });
}

function logsShutdownSteps(
  logs: OtlpLogs | undefined,
): (readonly [string, () => Promise<void>])[] {
  return logs === undefined ? [] : [["exporting the last log records", () => logs.shutdown()]];
}

function installLocal(
  mode: "deno" | "disabled",
  resource: Resource,
  pullReader: IMetricReader,
  clock: Clock,
  options: OtelInitOptions,
  settings: OtelSettings,
  version: string | undefined,
): Installed {
  // Pull-only: read by /metrics, never exported.
  const local = new MeterProvider({ resource, readers: [pullReader] });
  const meters = [local.getMeter(METER_NAME, version)];
  let tracer: Tracer;
  if (mode === "deno") {
    meters.unshift(metrics.getMeterProvider().getMeter(METER_NAME, version));
    tracer = trace.getTracerProvider().getTracer(TRACER_NAME, version);
  } else {
    // A provider with no delegate hands out no-op tracers; the global one is left alone.
    tracer = new ProxyTracerProvider().getTracer(TRACER_NAME, version);
  }
  // Deno-native mode: the runtime exports spans and metrics but has no logs API for these
  // records, so Pharos exports them (and counts their failures) itself.
  const onExportFailure = { count: (_signal: CountedSignal) => {} };
  const logs = mode === "deno"
    ? installLogs(settings, resource, outcomesFor(clock, options, onExportFailure), version)
    : undefined;
  return {
    meters,
    tracer,
    exportSignals: logs === undefined ? [] : ["logs"],
    onExportFailure,
    onLogRecord: logs?.emit,
    shutdownSteps: [
      ["shutting down the /metrics reader", () => local.shutdown()],
      ...logsShutdownSteps(logs),
    ],
  };
}
