import { PIPELINE_DEFAULTS } from "../config/mod.ts";
import { createHealthBoard, type HealthBoard, type HealthMonitor } from "../health/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Source } from "../sources/mod.ts";
import type { Clock } from "../util/mod.ts";

/** What watching the sources' health needs. */
export interface SourceHealthOptions {
  readonly clock: Clock;
  /** `pharos.health`: stale sources, health transitions and the start line. */
  readonly log: Logger;
  readonly sources: readonly Source[];
  /** Each source is stale after 2 × this, ms; default {@link PIPELINE_DEFAULTS}. */
  readonly heartbeatMs?: number | undefined;
  /** Sources that must be healthy for readiness; default all. */
  readonly requiredSources?: readonly string[] | undefined;
}

/** The health board over the sources, and each source's monitor on it. */
export interface SourceHealth {
  readonly health: HealthBoard;
  readonly monitors: ReadonlyMap<Source, HealthMonitor>;
}

/** Puts every source on a health board whose staleness and transitions are logged. */
export function createSourceHealth(options: SourceHealthOptions): SourceHealth {
  const { clock, log, sources } = options;
  const health = createHealthBoard({
    clock,
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    ...(options.requiredSources === undefined ? {} : { required: options.requiredSources }),
    onStale: (source, silentMs) =>
      log.warn("Stream appears to be stale - no recent events", {
        source,
        silent_ms: Math.round(silentMs),
      }),
    onTransition: (source, { from, to, healthy }) =>
      log.debug("Source {source} health: {from} to {to} (healthy: {healthy})", {
        source,
        from,
        to,
        healthy,
      }),
  });
  const monitors = new Map(sources.map((source) => [source, health.add(source.name, source.kind)]));
  log.info("Health monitoring enabled", {
    heartbeat_ms: options.heartbeatMs ?? PIPELINE_DEFAULTS.heartbeatMs,
    sources: sources.map((source) => source.name).join(","),
  });
  return { health, monitors };
}
