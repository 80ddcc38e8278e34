import type { Meter } from "@opentelemetry/api";
import type { ExemplarStore } from "./exemplars.ts";
import type { ProjectorTelemetry } from "./facade.ts";
import { METRIC_DEFINITIONS as m } from "./metric_definitions.ts";
import {
  type AreaMetrics,
  attributeCache,
  attributesOf,
  counter,
  synchronous,
} from "./metric_instruments.ts";

/** The projector's instruments (mutations, frames, batch latency, view cache, view errors). */
export function createProjectorMetrics(
  meters: readonly Meter[],
  exemplars?: ExemplarStore,
): AreaMetrics<ProjectorTelemetry> {
  const byView = attributesOf("view");
  const byEntity = attributesOf("entity");
  const byModeEntity = attributeCache<[string, string]>(["mode", "entity"]);

  const mutations = counter(meters, m.mutationsProcessed);
  const frames = counter(meters, m.framesPublished);
  const latency = synchronous(meters, m.projectorLatency, exemplars);
  const viewEvictions = counter(meters, m.viewCacheEvictions);
  const viewErrors = counter(meters, m.projectorViewErrors);

  return {
    telemetry: {
      mutationsProcessed: (entity, count) => mutations(count, byEntity(entity)),
      framePublished: (mode, entity, count = 1) => frames(count, byModeEntity(mode, entity)),
      batchDone: (seconds) => latency(seconds),
      viewCacheEviction: (entity) => viewEvictions(1, byEntity(entity)),
      viewError: (view) => viewErrors(1, byView(view)),
    },
    catalog(known) {
      for (const entity of known.entities ?? []) {
        const attributes = byEntity(entity);
        mutations(0, attributes);
        viewEvictions(0, attributes);
        for (const mode of known.modes ?? []) frames(0, byModeEntity(mode, entity));
      }
      for (const view of known.views ?? []) viewErrors(0, byView(view));
    },
  };
}
