import type { Meter } from "@opentelemetry/api";
import type { SourceTelemetry } from "./facade.ts";
import { METRIC_DEFINITIONS as m } from "./metric_definitions.ts";
import { type AreaMetrics, attributesOf, counter } from "./metric_instruments.ts";

/** The upstream sources' instrument: events received per source. */
export function createSourceMetrics(meters: readonly Meter[]): AreaMetrics<SourceTelemetry> {
  const bySource = attributesOf("source");
  const sourceEvents = counter(meters, m.sourceEvents);
  return {
    telemetry: {
      eventReceived: (source, count = 1) => sourceEvents(count, bySource(source)),
    },
    catalog(known) {
      for (const source of known.sources ?? []) sourceEvents(0, bySource(source));
    },
  };
}
