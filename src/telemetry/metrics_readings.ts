import type { Meter } from "@opentelemetry/api";
import type { Observations } from "./facade.ts";
import { METRIC_DEFINITIONS as m } from "./metric_definitions.ts";
import { attributesOf, observable } from "./metric_instruments.ts";

type HealthReading = ReturnType<Parameters<Observations["health"]>[0]>;
type PipelineReading = ReturnType<Parameters<Observations["pipeline"]>[0]>;

/**
 * The gauges read from the app when metrics are collected: readiness, each source's health,
 * and the pipeline's fill. Until the app registers a reading its gauges report nothing.
 */
export function createReadingMetrics(
  meters: readonly Meter[],
): Pick<Observations, "health" | "pipeline"> {
  const bySource = attributesOf("source");
  // Readings registered by the app; the latest registration replaces the previous one.
  let readHealth: (() => HealthReading) | undefined;
  let readPipeline: (() => PipelineReading) | undefined;
  observable(meters, m.ready, (result) => {
    if (readHealth !== undefined) result.observe(readHealth().ready ? 1 : 0);
  });
  observable(meters, m.sourceHealthy, (result) => {
    if (readHealth === undefined) return;
    for (const source of readHealth().sources) {
      result.observe(source.healthy ? 1 : 0, bySource(source.name));
    }
  });
  observable(meters, m.pipelinePending, (result) => {
    if (readPipeline !== undefined) result.observe(readPipeline().pending);
  });
  observable(meters, m.pipelineCapacity, (result) => {
    if (readPipeline !== undefined) result.observe(readPipeline().capacity);
  });
  return {
    health(read) {
      readHealth = read;
    },
    pipeline(read) {
      readPipeline = read;
    },
  };
}
