import type { Meter } from "@opentelemetry/api";
import type { ExemplarStore } from "./exemplars.ts";
import { HANDLER_CANCEL_REASONS, type VmTelemetry } from "./facade.ts";
import { METRIC_DEFINITIONS as m } from "./metric_definitions.ts";
import {
  type AreaMetrics,
  attributeCache,
  attributesOf,
  counter,
  observable,
  synchronous,
} from "./metric_instruments.ts";

/**
 * The VM's and handler hosts' instruments (state tables, path cache, handler errors,
 * cancellations, host restarts and batches; handler run time when `functionCallMetrics`).
 */
export function createVmMetrics(
  meters: readonly Meter[],
  functionCallMetrics: boolean,
  exemplars?: ExemplarStore,
): AreaMetrics<VmTelemetry> {
  const byEntity = attributesOf("entity");
  const byReason = attributesOf("reason");
  const byEntityCode = attributeCache<[string, string]>(["entity", "code"]);
  const byEntityHandler = attributeCache<[string, string]>(["entity", "handler"]);
  const byEntityReason = attributeCache<[string, string]>(["entity", "reason"]);

  const stateEvictions = counter(meters, m.stateTableEvictions);
  const atCapacity = new Map<string, 0 | 1>();
  observable(meters, m.stateTableAtCapacity, (result) => {
    for (const [entity, value] of atCapacity) result.observe(value, byEntity(entity));
  });
  const pathHits = counter(meters, m.pathCacheHits);
  const pathMisses = counter(meters, m.pathCacheMisses);
  const handlerErrors = counter(meters, m.handlerErrors);
  const cancellations = counter(meters, m.handlerCancellations);
  const hostRestarts = counter(meters, m.handlerHostRestarts);
  for (const reason of HANDLER_CANCEL_REASONS) hostRestarts(0, byReason(reason));
  const hostBatch = synchronous(meters, m.handlerHostBatchDuration, exemplars);
  // Off by default: not even registered, so the series never appears unless asked for.
  const handlerDuration = functionCallMetrics
    ? synchronous(meters, m.handlerCallDuration, exemplars)
    : undefined;

  return {
    telemetry: {
      stateTableEviction: (entity) => stateEvictions(1, byEntity(entity)),
      stateTableAtCapacity: (entity, full) => void atCapacity.set(entity, full ? 1 : 0),
      pathCacheHit: () => pathHits(1),
      pathCacheMiss: () => pathMisses(1),
      handlerError: (entity, code) => handlerErrors(1, byEntityCode(entity, code)),
      handlerCancelled: (entity, reason) => cancellations(1, byEntityReason(entity, reason)),
      hostRestarted: (reason) => hostRestarts(1, byReason(reason)),
      hostBatchDone: (seconds) => hostBatch(seconds),
      handlerDuration(entity, handler, seconds) {
        handlerDuration?.(seconds, byEntityHandler(entity, handler));
      },
    },
    catalog(known) {
      for (const entity of known.entities ?? []) {
        stateEvictions(0, byEntity(entity));
        // A table already reported full stays 1.
        if (!atCapacity.has(entity)) atCapacity.set(entity, 0);
        for (const reason of HANDLER_CANCEL_REASONS) {
          cancellations(0, byEntityReason(entity, reason));
        }
      }
    },
  };
}
