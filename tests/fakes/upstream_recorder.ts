/**
 * What the upstream source's tests share: events with positions, their positions as text,
 * and a context that records what the source does with it (its sink can be held).
 * @module
 */
import assert from "node:assert/strict";
import type { SourceContext, SourceStatus } from "../../src/sources/mod.ts";
import type { PharosEvent } from "../../src/stack/mod.ts";

/** A `Tick` event at `slot`/`index` (either may be absent). */
export function event(slot: number | undefined, index?: number, type = "Tick"): PharosEvent {
  return {
    type,
    data: { n: `${slot}/${index}` },
    ...(slot === undefined ? {} : { slot }),
    ...(index === undefined ? {} : { index }),
  };
}

/** `slot:index` of delivered events, the way tests compare streams. */
export const positions = (events: readonly PharosEvent[]): string[] =>
  events.map((e) => e.slot === undefined ? `-/${e.data.n}` : `${e.slot}:${e.index}`);

/** What {@link createRecorder} returns. */
export interface SinkRecorder {
  readonly context: SourceContext;
  /** Events whose sink call resolved, in order. */
  readonly delivered: PharosEvent[];
  /** Every sink call, held or failed ones included. */
  readonly sinkCalls: PharosEvent[];
  readonly statuses: [SourceStatus, string | undefined][];
  kinds(): SourceStatus[];
  /** Sink calls from now on wait until `release()`. */
  hold(): void;
  release(): void;
  /** The next sink call rejects with `error`. */
  failOnce(error: Error): void;
}

/** A SourceContext recording what the source does; `hold()` makes the sink wait. */
export function createRecorder(): SinkRecorder {
  const delivered: PharosEvent[] = [];
  const sinkCalls: PharosEvent[] = [];
  const statuses: [SourceStatus, string | undefined][] = [];
  let gate: PromiseWithResolvers<void> | undefined;
  let failNext: Error | undefined;
  const context: SourceContext = {
    async sink(e) {
      sinkCalls.push(e);
      if (gate !== undefined) await gate.promise;
      if (failNext !== undefined) {
        const error = failNext;
        failNext = undefined;
        throw error;
      }
      delivered.push(e);
    },
    offer: () => assert.fail("the upstream source waits for room; it never offers"),
    capacity: 10_000,
    onStatus: (status, message) => statuses.push([status, message]),
  };
  return {
    context,
    delivered,
    sinkCalls,
    statuses,
    kinds: () => statuses.map(([status]) => status),
    hold() {
      gate = Promise.withResolvers<void>();
    },
    release() {
      gate?.resolve();
      gate = undefined;
    },
    failOnce(error: Error) {
      failNext = error;
    },
  };
}
