import type { Logger } from "../log/mod.ts";
import type { Source } from "../sources/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { EventLog } from "./event_log.ts";

/** Longest wait between attempts to take a free lease. */
const ACQUIRE_EVERY_MS = 500;

/** Options for {@link createLease}. */
export interface LeaseOptions {
  readonly log: EventLog;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly instance: string;
  readonly leaseMs: number;
  /** The singleton sources (the registry's `isSingletonKind`): they run only where the lease is. */
  readonly singletons: readonly Source[];
  /** Starts a singleton, resuming after the log's cursor of it. */
  readonly startSource: (source: Source, resumeFrom: string | undefined) => Promise<void>;
  /** Whether this instance may take the lease now (caught up with the log, Redis up). */
  readonly canHold: () => boolean;
  /** A singleton now runs elsewhere (or nowhere yet): this instance only follows the log. */
  readonly onStandby: (source: Source) => void;
  /** Told when the lease is taken or lost. */
  readonly onChange?: (held: boolean) => void;
}

/** The singleton-source lease, held by one instance at a time. */
export interface Lease {
  start(): void;
  /** Stops the singletons and gives the lease up, so another instance takes over at once. */
  stop(): Promise<void>;
  /** True while held and renewed recently enough that no other instance can hold it. */
  holding(): boolean;
}

/** Creates the lease loop; nothing runs until `start`. */
export function createLease(options: LeaseOptions): Lease {
  const { log, clock, logger, instance, leaseMs, singletons } = options;
  const renewEveryMs = Math.max(100, Math.floor(leaseMs / 3));
  // A released lease (a holder shutting down) is free at once: look for it often.
  const acquireEveryMs = Math.min(renewEveryMs, ACQUIRE_EVERY_MS);
  // Give up before the lease can have expired: another instance may hold it from then on.
  const safeForMs = leaseMs - renewEveryMs;
  let held = false;
  let renewedAt = -Infinity;
  let timer: Disposable | undefined;
  let stopped = false;
  let tick: Promise<void> = Promise.resolve();

  const holding = () => held && clock.monotonic() - renewedAt < safeForMs;

  async function acquire(): Promise<void> {
    const startedAt = clock.monotonic();
    if (!(await log.acquireLease(instance, leaseMs))) return;
    held = true;
    renewedAt = startedAt;
    logger.info("Cluster lease taken: this instance runs the singleton sources", {
      instance,
      sources: singletons.map((source) => source.name).join(","),
    });
    options.onChange?.(true);
    for (const source of singletons) {
      const resumeFrom = await log.cursorOf(source.name);
      await options.startSource(source, resumeFrom);
    }
  }

  async function lose(why: string): Promise<void> {
    held = false;
    logger.warn("Cluster lease lost ({why}): stopping the singleton sources", {
      instance,
      why,
      code: "cluster-lease-lost",
    });
    options.onChange?.(false);
    await stopSingletons();
  }

  async function stopSingletons(): Promise<void> {
    await Promise.all(singletons.map((source) => source.stop()));
    for (const source of singletons) options.onStandby(source);
  }

  async function renew(): Promise<void> {
    const startedAt = clock.monotonic();
    try {
      if (await log.renewLease(instance, leaseMs)) renewedAt = startedAt;
      else await lose("another instance holds it");
    } catch {
      if (!holding()) await lose(`not renewed for ${safeForMs} ms`);
    }
  }

  async function step(): Promise<void> {
    if (held) await renew();
    else if (options.canHold()) {
      try {
        await acquire();
      } catch (error) {
        logger.debug("Cannot take the cluster lease: {error}", { instance, error });
      }
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = clock.setTimer(held ? renewEveryMs : acquireEveryMs, () => {
      tick = step().finally(schedule);
    });
  }

  return {
    start() {
      for (const source of singletons) options.onStandby(source);
      tick = step().finally(schedule);
    },
    async stop() {
      stopped = true;
      timer?.[Symbol.dispose]();
      await tick;
      if (!held) return;
      held = false;
      await Promise.all(singletons.map((source) => source.stop()));
      await log.releaseLease(instance).catch(() => {});
    },
    holding,
  };
}
