import { type Bus, createMemoryBus } from "./bus/mod.ts";
import { type Cluster, clusterInstanceId, createCluster, maxLagEventsFor } from "./cluster/mod.ts";
import type { Config } from "./config/mod.ts";
import type { Logger } from "./log/mod.ts";
import { createPipeline, type Pipeline } from "./pipeline/mod.ts";
import { createProjector, type Projector } from "./projector/mod.ts";
import type { Source } from "./sources/mod.ts";
import { BASE_VIEW_NAMES, type Stack } from "./stack/mod.ts";
import type { Telemetry } from "./telemetry/mod.ts";
import type { Clock, Ids } from "./util/mod.ts";
import { createPathCache, type Vm } from "./vm/mod.ts";
import type { SendScheduler } from "./ws/mod.ts";

/** What the event path is wired from: the app's dependencies and the parts built before it. */
export interface EventPathParts {
  readonly config: Config;
  readonly clock: Clock;
  readonly ids: Ids;
  /** Root logger (`pharos`). */
  readonly log: Logger;
  readonly telemetry: Telemetry;
  /** Wraps the bus (the console counts what passes it). */
  readonly tapBus: (bus: Bus) => Bus;
  readonly stack: Stack;
  readonly vm: Vm;
  readonly sources: readonly Source[];
  /** Paces every client's sends; the pipeline waits for it between batches. */
  readonly scheduler: SendScheduler;
  /** The cluster replaced the state: its clients must subscribe again. */
  readonly onStateReplaced: (reason: string) => void;
}

/** The event path: sources → pipeline (intake, VM) → projector → bus, and cluster mode. */
export interface EventPath {
  readonly bus: Bus;
  readonly projector: Projector;
  readonly cluster: Cluster | undefined;
  readonly pipeline: Pipeline;
}

/** Wires the event path: wiring only, each part's behaviour is its component's. */
export function wireEventPath(parts: EventPathParts): EventPath {
  const { config, clock, telemetry, stack, vm, scheduler } = parts;
  const log = (name: string) => parts.log.getChild(name);
  const bus = parts.tapBus(createMemoryBus({
    log: log("bus"),
    onListenerError: (topic, error) =>
      log("bus").error("Bus listener on {topic} failed: {error}", { topic, error }),
  }));
  const projector = createProjector({
    stack,
    bus,
    clock,
    log: log("projector"),
    telemetry: telemetry.projector,
    tracing: telemetry.tracing,
    paths: createPathCache({ telemetry: telemetry.vm }),
    ownsMutations: true, // the VM's wire patches are fresh per event
    ...config.projector,
  });
  const cluster = config.cluster.redisUrl === "" ? undefined : createCluster({
    config: config.cluster,
    stack: stack.name,
    instance: clusterInstanceId(config.cluster, parts.ids),
    clock,
    log: log("cluster"),
    telemetry,
    state: { vm, projector },
    maxLagEvents: maxLagEventsFor(config.pipeline.capacity),
    onStateReplaced: parts.onStateReplaced,
  });
  const pipeline = createPipeline({
    stack,
    sources: parts.sources,
    ...(cluster === undefined ? {} : { cluster: cluster.pipeline }),
    vm,
    projector,
    clock,
    log: parts.log,
    telemetry,
    fanoutIdle: () => scheduler.busy ? scheduler.idle() : undefined,
    ...config.pipeline,
  });
  // Every series over a value known now exists at 0 from the first scrape.
  telemetry.observe.catalog({
    entities: Object.keys(stack.entities),
    modes: BASE_VIEW_NAMES, // a base view's name is its frames' mode
    views: projector.viewIds,
    sources: pipeline.sources.map((source) => source.name),
  });
  return { bus, projector, cluster, pipeline };
}
