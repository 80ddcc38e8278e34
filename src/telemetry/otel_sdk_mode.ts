import { context, metrics, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from "@opentelemetry/core";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import {
  type IMetricReader,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { BatchSpanProcessor, type SpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { exporterConfig, toSampler } from "./otel_exporters.ts";
import {
  type CountedSignal,
  type InstallContext,
  type Installed,
  outcomesFor,
} from "./otel_install.ts";
import { installLogs, logsShutdownSteps } from "./otel_log_export.ts";
import { METER_NAME } from "./otel_telemetry.ts";
import { TRACER_NAME } from "./otel_tracing.ts";
import {
  type ExportOutcomes,
  ResilientMetricExporter,
  ResilientSpanExporter,
} from "./resilient_export.ts";

type Outcomes = (signal: CountedSignal) => ExportOutcomes;

/**
 * SDK mode: Pharos's own MeterProvider and TracerProvider, with OTLP exporters for the signals
 * that have an endpoint, registered globally with a context manager and the W3C propagators.
 */
export function installSdk(install: InstallContext): Installed {
  const { settings, version } = install;
  const onExportFailure = { count: (_signal: CountedSignal) => {} };
  const outcomes = outcomesFor(install, onExportFailure);
  const meterProvider = createSdkMeterProvider(install, outcomes);
  const tracerProvider = createSdkTracerProvider(install, outcomes, meterProvider);
  const unregisterGlobals = registerGlobals(tracerProvider, meterProvider);
  const logs = installLogs(install, outcomes, meterProvider);

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
      ["unregistering globals", unregisterGlobals],
    ],
  };
}

/** The MeterProvider `/metrics` reads, exporting periodically when a metrics endpoint is set. */
function createSdkMeterProvider(install: InstallContext, outcomes: Outcomes): MeterProvider {
  const { settings, resource } = install;
  const readers: IMetricReader[] = [install.pullReader];
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
  return new MeterProvider({ resource, readers });
}

/** The TracerProvider, exporting in batches when a traces endpoint is set. */
function createSdkTracerProvider(
  install: InstallContext,
  outcomes: Outcomes,
  meterProvider: MeterProvider,
): TracerProvider {
  const { settings, resource } = install;
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
  return new TracerProvider({
    resource,
    sampler: toSampler(settings.sampler),
    spanProcessors,
  });
}

/**
 * Registers the providers, an `AsyncLocalStorageContextManager` and the W3C trace-context +
 * baggage propagator globally; returns the shutdown step that unregisters what was registered.
 */
function registerGlobals(
  tracerProvider: TracerProvider,
  meterProvider: MeterProvider,
): () => Promise<void> {
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
  return () => {
    if (registered.trace) trace.disable();
    if (registered.metrics) metrics.disable();
    if (registered.propagation) propagation.disable();
    if (registered.context) context.disable(); // disables the context manager too
    return Promise.resolve();
  };
}
