import { cancellationError, locateRun } from "./answers.ts";
import type { HostPool } from "./host_pool.ts";
import type { HostDiedError, HostProcess } from "./host_process.ts";
import type { HostedTables } from "./hosted_tables.ts";
import type { BatchRun } from "./host_runs.ts";

/** Hosts that may die while being seeded before a batch gives up (they die before any run). */
const MAX_SEED_FAILURES = 5;

/** Options for {@link createHostDeaths}. */
export interface HostDeathsOptions {
  readonly pool: HostPool;
  readonly tables: HostedTables;
  /** For messages: the run budget the watchdog enforced. */
  readonly handlerTimeoutMs: number;
}

/** How one batch gets past hosts that die under it. */
export interface HostDeaths {
  /**
   * A live host holding the tables as they are: seeded first when it does not; hosts that
   * die while being seeded are passed over, {@link MAX_SEED_FAILURES} in a batch at most.
   */
  seededHost(): Promise<HostProcess>;
  /**
   * The host running the batch died: the run under way is found from its progress marks,
   * counted and skipped, and the rest of the batch goes to the next host.
   */
  blame(error: HostDiedError, sentAhead: boolean): void;
}

/** Creates the death handling of `batch`; its counts last as long as the batch. */
export function createHostDeaths(options: HostDeathsOptions, batch: BatchRun): HostDeaths {
  const { pool, tables, handlerTimeoutMs } = options;
  const { events, from, skips } = batch;
  let deathsWithoutMarks = 0;
  let seedFailures = 0;

  return {
    async seededHost() {
      for (;;) {
        const host = await pool.acquire();
        if (tables.isSeeded(host)) return host;
        try {
          await tables.seedHost(host);
          return host;
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
        }
      }
    },
    blame(error, sentAhead) {
      let culprit = locateRun(tables.tables, events, from, skips.skip, error.runsStarted);
      // No mark: the host died before this batch's first run (killed from outside, or
      // while it ran the batch before, which is no fault of this one when it was sent
      // ahead). Try again once; a second time, blame the first event so the pipeline
      // moves on.
      const innocent = sentAhead && error.runsStarted === 0;
      if (culprit === undefined && !innocent && ++deathsWithoutMarks >= 2) {
        culprit = locateRun(tables.tables, events, from, skips.skip, 1);
      }
      if (culprit !== undefined) {
        const reason = error.exit.reason;
        skips.skip.add(culprit.event);
        const cancelled = cancellationError(reason, error, handlerTimeoutMs);
        skips.culprits.push({ ...culprit, reason, error: cancelled });
      }
    },
  };
}
