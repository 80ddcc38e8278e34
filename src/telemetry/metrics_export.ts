import type { Meter } from "@opentelemetry/api";
import { METRIC_DEFINITIONS as m } from "./metric_definitions.ts";
import { attributesOf, synchronous } from "./metric_instruments.ts";

/**
 * Every OTLP signal, exported at 0 failures once any exporter runs (a dashboard's per-signal
 * panel then shows each at 0, whichever exporters are configured).
 */
export const ZEROED_EXPORT_SIGNALS = ["traces", "metrics", "logs"] as const;

/**
 * The counter of failed OTLP exports, registered only when Pharos runs exporters
 * (`exportSignals` not empty), with a 0 series for each of {@link ZEROED_EXPORT_SIGNALS} and
 * `exportSignals`. Returns what counts one failed export of a signal (a no-op without).
 */
export function createExportFailureMetrics(
  meters: readonly Meter[],
  exportSignals: readonly string[] = [],
): (signal: string) => void {
  if (exportSignals.length === 0) return () => {};
  const bySignal = attributesOf("signal");
  const exportFailures = synchronous(meters, m.exportFailures);
  const signals = new Set<string>([...ZEROED_EXPORT_SIGNALS, ...exportSignals]);
  for (const signal of signals) exportFailures(0, bySignal(signal));
  return (signal) => exportFailures(1, bySignal(signal));
}
