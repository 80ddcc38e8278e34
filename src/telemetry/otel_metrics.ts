import type { Meter } from "@opentelemetry/api";
import type { EmptyHistograms } from "./empty_histograms.ts";
import type { ExemplarStore } from "./exemplars.ts";
import type { Telemetry } from "./facade.ts";
import { createAuthMetrics } from "./metrics_auth.ts";
import { createClusterMetrics } from "./metrics_cluster.ts";
import { createExportFailureMetrics } from "./metrics_export.ts";
import { createLogMetrics } from "./metrics_log.ts";
import { createProjectorMetrics } from "./metrics_projector.ts";
import { createReadingMetrics } from "./metrics_readings.ts";
import { createRuntimeMetrics } from "./metrics_runtime.ts";
import { createSourceMetrics } from "./metrics_sources.ts";
import { createVmMetrics } from "./metrics_vm.ts";
import { createWsMetrics } from "./metrics_ws.ts";

/** Options of {@link createMetricFacades}. */
export interface MetricFacadeOptions {
  /** Register and record `handler_call_duration_seconds`. Default false. */
  readonly functionCallMetrics?: boolean;
  /**
   * The signals Pharos exports: with any, `telemetry_export_failures_total` is registered
   * with a 0 series for each of `ZEROED_EXPORT_SIGNALS` and these. Default none: the
   * counter only exists where Pharos runs the exporters.
   */
  readonly exportSignals?: readonly string[];
  /** Where the latency histograms keep their exemplars; default none kept. */
  readonly exemplars?: ExemplarStore;
  /** Histogram series `/metrics` shows before their first value; default none. */
  readonly emptyHistograms?: EmptyHistograms;
}

/** The metric-recording facades (all but tracing), plus hooks for this folder's set-up code. */
export interface MetricFacades extends Omit<Telemetry, "tracing"> {
  /** Counts log lines a logging handle dropped (read when metrics are collected). */
  countLogDrops(read: () => number): void;
  /** Counts a failed export of `signal` (a no-op without `exportSignals`). */
  exportFailed(signal: string): void;
}

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
  // Instruments are registered area by area in this order, which is the order of `/metrics`.
  const ws = createWsMetrics(meters, options.emptyHistograms);
  const projector = createProjectorMetrics(meters, options.exemplars);
  const vm = createVmMetrics(meters, options.functionCallMetrics === true, options.exemplars);
  const sources = createSourceMetrics(meters);
  const readings = createReadingMetrics(meters);
  const cluster = createClusterMetrics(meters);
  const auth = createAuthMetrics(meters);
  const log = createLogMetrics(meters);
  const runtime = createRuntimeMetrics(meters);
  const exportFailed = createExportFailureMetrics(meters, options.exportSignals);

  return {
    ws: ws.telemetry,
    projector: projector.telemetry,
    vm: vm.telemetry,
    sources: sources.telemetry,
    cluster: cluster.telemetry,
    auth,
    log: log.telemetry,
    runtime: runtime.telemetry,
    observe: {
      health: readings.health,
      pipeline: readings.pipeline,
      cluster: cluster.observe,
      handlerHosts: runtime.observeHandlerHosts,
      catalog(known) {
        projector.catalog(known);
        vm.catalog(known);
        ws.catalog(known);
        sources.catalog(known);
      },
    },
    countLogDrops: log.countLogDrops,
    exportFailed,
  };
}
