import type { Meter } from "@opentelemetry/api";
import type { ClusterReading, ClusterTelemetry, Observations } from "./facade.ts";
import { METRIC_DEFINITIONS as m, type MetricDefinition } from "./metric_definitions.ts";
import { observable, synchronous } from "./metric_instruments.ts";

/** Cluster mode's counters, and the registration of its reading (`observe.cluster`). */
export interface ClusterMetrics {
  readonly telemetry: ClusterTelemetry;
  readonly observe: Observations["cluster"];
}

/**
 * Cluster mode's instruments (log lag, append errors, lease, checkpoint age, Redis, epochs).
 * Cluster series exist only once a cluster-mode app registers its reading.
 */
export function createClusterMetrics(meters: readonly Meter[]): ClusterMetrics {
  const appendErrors = synchronous(meters, m.clusterAppendErrors);
  const epochChanges = synchronous(meters, m.clusterEpochChanges);
  let readCluster: (() => ClusterReading) | undefined;
  const clusterGauge = (definition: MetricDefinition, value: (reading: ClusterReading) => number) =>
    observable(meters, definition, (result) => {
      if (readCluster !== undefined) result.observe(value(readCluster()));
    });
  clusterGauge(m.clusterLogLag, (reading) => reading.lagEvents);
  clusterGauge(m.clusterLeaseHeld, (reading) => reading.leaseHeld ? 1 : 0);
  observable(meters, m.clusterCheckpointAge, (result) => {
    const age = readCluster?.().checkpointAgeSeconds;
    if (age !== undefined) result.observe(age);
  });
  clusterGauge(m.clusterRedisUp, (reading) => reading.redisUp ? 1 : 0);

  return {
    telemetry: {
      appendFailed: (count = 1) => appendErrors(count),
      epochChanged: () => epochChanges(1),
    },
    observe(read) {
      if (readCluster === undefined) {
        appendErrors(0);
        epochChanges(0);
      }
      readCluster = read;
    },
  };
}
