import type { Logger } from "../log/mod.ts";
import type { PharosEvent, Stack } from "../stack/mod.ts";
import type { VmTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import {
  type BatchOptions,
  createStateTables,
  decodeRaw,
  encodeRaw,
  type HostRun,
  type PrefetchOptions,
  type Vm,
  type VmBatchResult,
  wireOfEncoded,
} from "../vm/mod.ts";
import { type HostPool, logConsole } from "./host_pool.ts";
import { HostDiedError, type HostProcess, type RunAnswer } from "./host_process.ts";
import type { RunMessage } from "./protocol.ts";
import { applyAnswer, cancellationError, type Culprit, locateRun } from "./answers.ts";

/** Options for {@link createHostedVm}. */
export interface HostedVmOptions {
  /** The server's view of the stack (from the host's manifest). */
  readonly stack: Stack;
  readonly pool: HostPool;
  readonly clock: Clock;
  readonly telemetry: VmTelemetry;
  /** `pharos.vm`. */
  readonly log: Logger;
  readonly stateTableSize: number;
  /** For messages: the run budget the watchdog enforced. */
  readonly handlerTimeoutMs: number;
}

/** Hosts that may die while being seeded before a batch gives up (they die before any run). */
const MAX_SEED_FAILURES = 5;

/** One batch sent to one host. */
interface Attempt {
  readonly host: HostProcess;
  readonly events: readonly PharosEvent[];
  readonly from: number;
  readonly sentAt: number;
  readonly done: Promise<RunAnswer>;
}

/** The events of a batch that must not run again, remembered across its slices. */
interface BatchSkips {
  readonly events: readonly PharosEvent[];
  readonly skip: Set<number>;
  readonly culprits: Culprit[];
}

/**
 * The VM with handlers in a handler host process. The server keeps the authoritative
 * state tables and numbers `_seq`; the host runs each batch and answers with raw patches
 * and failures, which are merged here exactly as the in-process VM merges its own. When
 * the host dies mid-batch, its marks name the run that was under way: that event is
 * counted, skipped, and the rest of the batch re-run on the spare, which is first seeded
 * with these tables (nothing of the dead host's batch was applied).
 */
export function createHostedVm(options: HostedVmOptions): Vm {
  const { pool, clock, telemetry, log } = options;
  // The tables hold state as the host encodes it (bigints as tagged strings): patches merge
  // without decoding, and a new host is seeded with the entries as they are.
  const tables = createStateTables({
    stack: options.stack,
    telemetry,
    stateTableSize: options.stateTableSize,
    toWire: wireOfEncoded,
  });
  let runIds = 0;
  /** Bumped when the tables are replaced whole: hosts seeded before must be seeded again. */
  let generation = 0;
  let skips: BatchSkips | undefined;
  /** The batch sent ahead by {@link prefetch}, until `processBatch` takes it. */
  let ahead: Attempt | undefined;
  /** `processBatch` calls under way: a batch sent ahead of one could overtake it. */
  let running = 0;

  async function seed(host: HostProcess): Promise<void> {
    const seeded: Record<string, (readonly [string, unknown])[]> = {};
    let entries = 0;
    for (const runtime of tables.entities) {
      seeded[runtime.name] = [...runtime.table.entries()];
      entries += seeded[runtime.name]!.length;
    }
    await host.send({ t: "seed", tables: seeded });
    host.seeded = generation;
    log.debug("Handler host {pid} seeded with {entries} entries", { pid: host.pid, entries });
  }

  function skipsFor(events: readonly PharosEvent[]): BatchSkips {
    if (skips?.events !== events) skips = { events, skip: new Set(), culprits: [] };
    return skips;
  }

  /** Sends events `from`… to `host`; the batch runs whole (no slices: the host is apart). */
  function start(
    host: HostProcess,
    events: readonly PharosEvent[],
    from: number,
    timings: boolean,
    runs: boolean,
    skip: ReadonlySet<number>,
  ): Attempt {
    const sentAt = clock.monotonic();
    const message: RunMessage = {
      t: "run",
      id: ++runIds,
      from,
      budgetMs: null,
      timings,
      ...(runs ? { runs } : {}),
      skip: [...skip],
      events,
    };
    const done = host.run(message);
    done.catch(() => {}); // awaited by processBatch; never an unhandled rejection
    return { host, events, from, sentAt, done };
  }

  async function processBatch(
    events: readonly PharosEvent[],
    batchOptions?: BatchOptions,
  ): Promise<VmBatchResult> {
    running++;
    try {
      return await runBatch(events, batchOptions);
    } finally {
      running--;
    }
  }

  async function runBatch(
    events: readonly PharosEvent[],
    batchOptions?: BatchOptions,
  ): Promise<VmBatchResult> {
    const from = batchOptions?.from ?? 0;
    const timings = batchOptions?.timings === true;
    const runs = batchOptions?.runs === true;
    const batch = skipsFor(events);
    let deathsWithoutMarks = 0;
    let seedFailures = 0;
    const hostRuns: HostRun[] | undefined = timings ? [] : undefined;
    // The batch sent ahead (see prefetch) is this one: the intake hands over the batch it
    // took ahead next. Anything else would be a bug, and running it a second time would
    // apply it twice in the host's tables, so it is taken as it comes.
    if (ahead !== undefined && (ahead.events !== events || ahead.from !== from)) {
      await discardAhead();
    }
    let attempt: Attempt | undefined = ahead;
    let aheadAttempt = ahead !== undefined;
    ahead = undefined;
    for (;;) {
      if (attempt === undefined) {
        const host = await pool.acquire();
        if (host.seeded !== generation) {
          try {
            await seed(host);
          } catch (error) {
            // The host died before it could take its seed (its pipe is broken): nothing of
            // this batch ran there, so it goes to the next host, a few times at most.
            host.kill("crash");
            await host.exited;
            if (++seedFailures >= MAX_SEED_FAILURES) {
              throw new Error(
                `${seedFailures} handler hosts in a row died before taking their state`,
                { cause: error },
              );
            }
            continue;
          }
        }
        attempt = start(host, events, from, timings, runs, batch.skip);
      }
      const { host, sentAt } = attempt;
      try {
        // A batch sent ahead began when the host finished the one before it.
        const { done, startedAt: began } = await attempt.done;
        telemetry.hostBatchDone((clock.monotonic() - began) / 1000);
        hostRuns?.push(hostRun(host, events, from, began, "ok"));
        const out = applyAnswer(
          tables,
          events,
          from,
          done,
          batch.culprits,
          timings ? began : undefined,
        );
        for (const [entity, handler, seconds] of done.d ?? []) {
          telemetry.handlerDuration(entity, handler, seconds);
        }
        logConsole(log, done.log);
        out.hostRuns = hostRuns;
        return out;
      } catch (error) {
        if (!(error instanceof HostDiedError)) throw error;
        attempt = undefined;
        hostRuns?.push(hostRun(host, events, from, sentAt, error.exit.reason));
        let culprit = locateRun(tables, events, from, batch.skip, error.runsStarted);
        // No mark: the host died before this batch's first run (killed from outside, or
        // while it ran the batch before, which is no fault of this one when it was sent
        // ahead). Try again once; a second time, blame the first event so the pipeline
        // moves on.
        const innocent = aheadAttempt && error.runsStarted === 0;
        aheadAttempt = false;
        if (culprit === undefined && !innocent && ++deathsWithoutMarks >= 2) {
          culprit = locateRun(tables, events, from, batch.skip, 1);
        }
        if (culprit !== undefined) {
          const reason = error.exit.reason;
          batch.skip.add(culprit.event);
          const cancelled = cancellationError(reason, error, options.handlerTimeoutMs);
          batch.culprits.push({ ...culprit, reason, error: cancelled });
        }
      }
    }
  }

  function hostRun(
    host: HostProcess,
    events: readonly PharosEvent[],
    from: number,
    startedAt: number,
    outcome: HostRun["outcome"],
  ): HostRun {
    return {
      startedAt,
      endedAt: clock.monotonic(),
      pid: host.pid,
      events: events.length - from,
      outcome,
    };
  }

  /** Waits for a batch sent ahead that nobody asked for, and keeps its state changes. */
  async function discardAhead(): Promise<void> {
    const stray = ahead!;
    ahead = undefined;
    log.error("A batch sent ahead to the handler host was not processed next: kept its state only");
    try {
      const { done } = await stray.done;
      applyAnswer(tables, stray.events, stray.from, done, [], undefined);
    } catch {
      // its host died: its events never changed the tables
    }
  }

  /**
   * Sends the next batch to the host while the server publishes this one: the host runs
   * it on its own core meanwhile. Only between batches (no `processBatch` under way, so
   * nothing it sends can come after this), onto a live, seeded host with no batch waiting
   * ahead; otherwise the batch simply runs when `processBatch` asks for it.
   */
  function prefetch(events: readonly PharosEvent[], options?: PrefetchOptions): void {
    const host = pool.current();
    if (running > 0 || ahead !== undefined || host === undefined || host.seeded !== generation) {
      return;
    }
    const { timings = false, runs = false } = options ?? {};
    ahead = start(host, events, 0, timings, runs, skipsFor(events).skip);
  }

  return {
    processBatch,
    prefetch,
    available: () => pool.available(),
    async process(event) {
      const { mutations, failures } = await processBatch([event]);
      return { mutations, failures };
    },
    state(entity, key) {
      const state = tables.runtime(entity)?.table.get(key);
      // A decoded copy: the table's own entry stays encoded.
      return state === undefined
        ? undefined
        : decodeRaw(JSON.parse(JSON.stringify(state))) as Record<string, unknown>;
    },
    seed(entity, key, state) {
      tables.runtime(entity)?.table.set(key, encodeRaw(state) as Record<string, unknown>);
    },
    // The tables already hold the host's encoding, which is the checkpoint's too.
    exportState: () => tables.exportState((state) => state),
    importState(state) {
      tables.importState(state, (encoded) => encoded as Record<string, unknown>);
      generation++;
    },
  };
}
