import { PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { MetricReader } from "@opentelemetry/sdk-metrics";
import type { EmptyHistograms } from "./empty_histograms.ts";
import type { ExemplarStore } from "./exemplars.ts";
import { type MetricsFormat, toOpenMetrics } from "./openmetrics.ts";

/** `Content-Type` of `GET /metrics` (Prometheus text exposition format 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * A pull-only reader: it never exports, it only answers `collect()` when `/metrics` is scraped.
 * Cumulative temporality (the default), as Prometheus expects.
 */
export class PullMetricReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Options of {@link createMetricsEndpoint}. */
export interface MetricsEndpointOptions {
  /**
   * A reader the caller registers (or already registered) on its MeterProvider, e.g. a
   * `PrometheusExporter` built with `preventServerStart: true`. Default: a new
   * {@link PullMetricReader}, returned as `reader` for the caller to register.
   */
  readonly reader?: MetricReader;
  /** The exemplars OpenMetrics output shows on the latency histograms' buckets. */
  readonly exemplars?: ExemplarStore;
  /** Histogram series shown before their first value. */
  readonly emptyHistograms?: EmptyHistograms;
}

/** Renders what one metric reader sees as Prometheus text, for `GET /metrics`. */
export interface MetricsEndpoint {
  /**
   * The reader behind the endpoint. SDK 3.x MeterProviders take their readers at construction,
   * so a host passes it in `new MeterProvider({ readers: [endpoint.reader, …] })`.
   */
  readonly reader: MetricReader;
  /**
   * Collects and serialises the metrics, as Prometheus text (the default) or OpenMetrics
   * with exemplars. Rejects when the reader is not registered on a MeterProvider yet or has
   * been shut down.
   */
  render(format?: MetricsFormat): Promise<string>;
}

/**
 * Creates a `/metrics` renderer. Serialisation uses the exporter package's
 * `PrometheusSerializer` without scope labels (`otel_scope_name`), so every series carries
 * exactly the catalog's labels; resource attributes go to the one `target_info` series.
 * The serializer appends `_total` to monotonic sums lacking it and never a unit suffix, which
 * is why Pharos's instrument names already end in `_seconds`/`_bytes`/`_total`.
 */
export function createMetricsEndpoint(options: MetricsEndpointOptions = {}): MetricsEndpoint {
  const reader = options.reader ?? new PullMetricReader();
  // prefix none, no timestamps, no resource labels on series, keep target_info, drop scope info.
  const serializer = new PrometheusSerializer(undefined, false, undefined, false, true);
  return {
    reader,
    async render(format = "prometheus") {
      // Callback errors come back in `errors` with whatever could be read; a scrape still
      // serves the rest (the observable wrappers already swallow failing readings).
      const { resourceMetrics } = await reader.collect();
      const serialized = serializer.serialize(resourceMetrics);
      const text = options.emptyHistograms?.fill(serialized) ?? serialized;
      return format === "openmetrics" ? toOpenMetrics(text, options.exemplars) : text;
    },
  };
}
