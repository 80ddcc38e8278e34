import type { Logger } from "../log/mod.ts";
import type { Pipeline } from "../pipeline/mod.ts";
import { isSingletonKind, type Source, type SourceContext } from "../sources/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { Appender } from "./appender.ts";
import type { EventLog } from "./event_log.ts";
import { createLease, type Lease } from "./lease.ts";
import { PROBE_TIMEOUT_MS } from "./monitor.ts";
import type { LeaseHolder } from "./status.ts";
import { withinMs } from "./within.ts";

/** Options for {@link createSingletons}. */
export interface SingletonsOptions {
  readonly log: EventLog;
  readonly clock: Clock;
  /** `pharos.cluster`. */
  readonly logger: Logger;
  readonly instance: string;
  readonly leaseMs: number;
  readonly appender: Appender;
  /** Whether Redis answers now (the lease holder is not asked for while it does not). */
  readonly redisUp: () => boolean;
  /** Whether this instance may take the lease now (ready: caught up, Redis up). */
  readonly canHold: () => boolean;
}

/**
 * Where the singleton sources (the kinds the sources registry marks so) run: on the holder
 * of the lease only, their deliveries ending once it is lost. Other sources run everywhere.
 */
export interface Singletons {
  /** See `PipelineCluster.contextFor`. */
  contextFor(source: Source, local: SourceContext): SourceContext;
  /** See `PipelineCluster.startsHere`: the singletons start when the lease is taken. */
  startsHere(source: Source): boolean;
  /** Starts the lease loop over the pipeline's singleton sources. */
  start(pipeline: Pipeline): void;
  /** Stops the singletons and gives the lease up. */
  stop(): Promise<void>;
  /** True while this instance holds the lease (see `Lease.holding`). */
  holding(): boolean;
  /** This instance while it holds the lease; otherwise whoever Redis names now. */
  holder(): Promise<LeaseHolder>;
}

const isSingleton = (source: Source) => isSingletonKind(source.kind);

/** Creates the singletons' part; the lease loop runs from `start`. */
export function createSingletons(options: SingletonsOptions): Singletons {
  const { log, clock, logger, instance, appender } = options;
  let lease: Lease | undefined;
  const holding = () => lease?.holding() ?? false;

  return {
    contextFor: (source, local) =>
      appender.contextFor(source, local, () => !isSingleton(source) || holding()),
    startsHere: (source) => !isSingleton(source),
    start(pipeline) {
      lease = createLease({
        log,
        clock,
        logger,
        instance,
        leaseMs: options.leaseMs,
        singletons: pipeline.sources.filter(isSingleton),
        startSource: (source, resumeFrom) => pipeline.startSource(source, resumeFrom),
        canHold: options.canHold,
        onStandby: (source) => pipeline.health.get(source.name)?.recordConnection(),
      });
      lease.start();
    },
    stop: async () => await lease?.stop(),
    holding,
    async holder() {
      if (lease?.holding()) return { known: true, instance };
      if (!options.redisUp()) return { known: false };
      try {
        const holder = await withinMs(clock, PROBE_TIMEOUT_MS, log.leaseHolder(), "lease read");
        return { known: true, instance: holder };
      } catch {
        return { known: false };
      }
    },
  };
}
