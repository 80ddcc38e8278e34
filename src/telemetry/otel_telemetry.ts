import type { Meter, MeterProvider, Tracer, TracerProvider } from "@opentelemetry/api";
import type { EmptyHistograms } from "./empty_histograms.ts";
import type { ExemplarStore } from "./exemplars.ts";
import type { Telemetry } from "./facade.ts";
import { createMetricFacades, type MetricFacades } from "./otel_metrics.ts";
import { createOtelTracing, TRACER_NAME } from "./otel_tracing.ts";
import { type ProcessReadings, registerProcessMetrics } from "./process_metrics.ts";

/** The meter (instrumentation scope) name of every Pharos metric. */
export const METER_NAME = "pharos";

/** Options of {@link createOtelTelemetry}. */
export interface OtelTelemetryOptions {
  /** Where metrics are recorded (a host's SDK MeterProvider, or any API-compatible one). */
  readonly meterProvider: MeterProvider;
  /** Where spans are recorded; the tracer is named `pharos`. */
  readonly tracerProvider: TracerProvider;
  /** Register and record `handler_call_duration_seconds`. Default false. */
  readonly functionCallMetrics?: boolean;
  /** Register the `process_*` metrics. Default true; a host that exports its own may turn them off. */
  readonly processMetrics?: boolean;
  /** Instrumentation scope version of the meter and tracer. Default none. */
  readonly version?: string;
}

/** What the set-up code of this folder assembles a telemetry from. */
export interface OtelParts {
  /** Usually one meter; Deno-native mode records to the runtime's and a local one. */
  readonly meters: readonly Meter[];
  readonly tracer: Tracer;
  readonly functionCallMetrics?: boolean;
  readonly processMetrics?: boolean;
  readonly processReadings?: ProcessReadings;
  /** Register `telemetry_export_failures_total` for these signals (starting at 0). */
  readonly exportSignals?: readonly string[];
  /** Whether recorded spans are exported (see `Tracing.exporting`). Default true. */
  readonly tracesExported?: boolean;
  /** Where the latency histograms keep exemplars (only when spans are exported). */
  readonly exemplars?: ExemplarStore;
  /** Histogram series `/metrics` shows before their first value. */
  readonly emptyHistograms?: EmptyHistograms;
}

/** A telemetry plus the hooks only the set-up code uses. */
export interface AssembledTelemetry {
  readonly telemetry: Telemetry;
  readonly metrics: MetricFacades;
}

/** Builds the facades over `parts`. Registers nothing global. */
export function assembleTelemetry(parts: OtelParts): AssembledTelemetry {
  const metrics = createMetricFacades(parts.meters, {
    ...(parts.functionCallMetrics === undefined
      ? {}
      : { functionCallMetrics: parts.functionCallMetrics }),
    ...(parts.exportSignals === undefined ? {} : { exportSignals: parts.exportSignals }),
    ...(parts.emptyHistograms === undefined ? {} : { emptyHistograms: parts.emptyHistograms }),
    // An exemplar names a trace: only worth keeping when the traces reach a backend.
    ...(parts.exemplars === undefined || parts.tracesExported === false
      ? {}
      : { exemplars: parts.exemplars }),
  });
  if (parts.processMetrics !== false) registerProcessMetrics(parts.meters, parts.processReadings);
  const telemetry: Telemetry = Object.freeze({
    ws: Object.freeze(metrics.ws),
    projector: Object.freeze(metrics.projector),
    vm: Object.freeze(metrics.vm),
    sources: Object.freeze(metrics.sources),
    cluster: Object.freeze(metrics.cluster),
    auth: Object.freeze(metrics.auth),
    log: Object.freeze(metrics.log),
    runtime: Object.freeze(metrics.runtime),
    observe: Object.freeze(metrics.observe),
    tracing: Object.freeze(
      createOtelTracing(parts.tracer, { exporting: parts.tracesExported ?? true }),
    ),
  });
  return { telemetry, metrics };
}

/**
 * Telemetry recorded through a host's OpenTelemetry providers (the seed's "use my registry").
 * Installs nothing global: no provider, context manager or propagator is registered, so the
 * host keeps control. For spans to nest across `await`, the host registers a context manager
 * (e.g. `AsyncLocalStorageContextManager`); to serve `/metrics`, it adds
 * `createMetricsEndpoint().reader` to its MeterProvider's readers.
 */
export function createOtelTelemetry(options: OtelTelemetryOptions): Telemetry {
  const version = options.version;
  const meter = options.meterProvider.getMeter(METER_NAME, version);
  const tracer = options.tracerProvider.getTracer(TRACER_NAME, version);
  return assembleTelemetry({
    meters: [meter],
    tracer,
    ...(options.functionCallMetrics === undefined
      ? {}
      : { functionCallMetrics: options.functionCallMetrics }),
    ...(options.processMetrics === undefined ? {} : { processMetrics: options.processMetrics }),
  }).telemetry;
}
