import type { Logger } from "../log/mod.ts";
import type { PharosEvent, Stack } from "../stack/mod.ts";
import type { VmTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { BatchOptions, PrefetchOptions, Vm, VmBatchResult } from "../vm/mod.ts";
import { applyAnswer } from "./answers.ts";
import { createHostDeaths } from "./host_deaths.ts";
import type { HostPool } from "./host_pool.ts";
import { HostDiedError } from "./host_process.ts";
import {
  type Attempt,
  type BatchRun,
  createRunSender,
  createSkipMemory,
  takeAnswer,
} from "./host_runs.ts";
import { createHostedTables } from "./hosted_tables.ts";

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
  const hosted = createHostedTables(options);
  const { tables } = hosted;
  const send = createRunSender(clock);
  const answers = { tables, clock, telemetry, log };
  const skipsFor = createSkipMemory();
  /** The batch sent ahead by {@link prefetch}, until `processBatch` takes it. */
  let ahead: Attempt | undefined;
  /** `processBatch` calls under way: a batch sent ahead of one could overtake it. */
  let running = 0;

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
    const timings = batchOptions?.timings === true;
    const skips = skipsFor(events);
    const batch: BatchRun = {
      events,
      from: batchOptions?.from ?? 0,
      timings,
      runs: batchOptions?.runs === true,
      skip: skips.skip,
      skips,
      hostRuns: timings ? [] : undefined,
    };
    const deaths = createHostDeaths({ ...options, tables: hosted }, batch);
    // The batch sent ahead (see prefetch) is this one: the intake hands over the batch it
    // took ahead next. Anything else would be a bug, and running it a second time would
    // apply it twice in the host's tables, so it is taken as it comes.
    if (ahead !== undefined && (ahead.events !== events || ahead.from !== batch.from)) {
      await discardAhead();
    }
    let attempt: Attempt | undefined = ahead;
    let sentAhead = ahead !== undefined;
    ahead = undefined;
    for (;;) {
      attempt ??= send(await deaths.seededHost(), batch);
      try {
        return await takeAnswer(attempt, batch, answers);
      } catch (error) {
        if (!(error instanceof HostDiedError)) throw error;
        batch.hostRuns?.push(attempt.ended(error.exit.reason));
        attempt = undefined;
        deaths.blame(error, sentAhead);
        sentAhead = false;
      }
    }
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
    if (running > 0 || ahead !== undefined || host === undefined || !hosted.isSeeded(host)) {
      return;
    }
    const { timings = false, runs = false } = options ?? {};
    ahead = send(host, { events, from: 0, timings, runs, skip: skipsFor(events).skip });
  }

  return {
    processBatch,
    prefetch,
    available: () => pool.available(),
    async process(event) {
      const { mutations, failures } = await processBatch([event]);
      return { mutations, failures };
    },
    state: hosted.state,
    seed: hosted.seed,
    exportState: hosted.exportState,
    importState: hosted.importState,
    // The same report `HostPool.status` gives: the active host, its spare, restarts, memory.
    handlersStatus: () => pool.status(),
  };
}
