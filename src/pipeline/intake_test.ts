import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { nextTurn } from "../../tests/wait.ts";
import type { PharosEvent } from "../stack/mod.ts";
import { createIntake, type IntakeBatch, IntakeClosedError } from "./intake.ts";

const event = (n: number): PharosEvent => ({ type: "T", slot: n, data: { n } });

/**
 * A clock that stands still: no slice ever ends, so the intake never yields a timer turn and
 * these tests step through microtasks alone, however busy the machine is.
 */
const stillClock = () => new FakeClock();

/** One batch's events as `source:n`. */
const labels = (batch: IntakeBatch) =>
  batch.events.map((event, i) => `${batch.sources[i]}:${event.data.n}`);

/** A process function the test releases by hand, one event at a time. */
function gate() {
  const processed: number[] = [];
  const waiting: (() => void)[] = [];
  return {
    processed,
    process: (batch: IntakeBatch) =>
      new Promise<void>((resolve) => {
        waiting.push(() => {
          for (const event of batch.events) processed.push(event.data.n as number);
          resolve();
        });
      }),
    /** Lets the oldest waiting batch finish; resolves after the loop has moved on. */
    async release(): Promise<void> {
      waiting.shift()?.();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
    get held() {
      return waiting.length;
    },
  };
}

Deno.test("intake", async (t) => {
  await t.step("processes events one at a time, in arrival order across sources", async () => {
    const seen: string[] = [];
    const intake = createIntake({
      clock: stillClock(),
      maxBatch: 1,
      process: (batch) => {
        seen.push(...labels(batch));
        return Promise.resolve();
      },
      onError: () => assert.fail("no error expected"),
    });
    assert.equal(intake.offer("ingest", [event(1), event(2)]), true);
    await Promise.all([intake.submit("demo", event(3)), intake.submit("upstream", event(4))]);
    assert.deepEqual(seen, ["ingest:1", "ingest:2", "demo:3", "upstream:4"]);
    await intake.close();
  });

  await t.step("offer is all-or-nothing against capacity and never waits", async () => {
    const g = gate();
    const intake = createIntake({
      clock: stillClock(),
      capacity: 3,
      maxBatch: 1,
      process: g.process,
      onError: () => {},
    });
    assert.equal(intake.offer("ingest", [event(1), event(2)]), true);
    await Promise.resolve();
    // event 1 is being processed; event 2 waits: one place of three is taken.
    assert.equal(intake.pending, 1);
    assert.equal(intake.offer("ingest", [event(3), event(4), event(5)]), false, "3 do not fit");
    assert.equal(intake.pending, 1, "a refused offer queues nothing");
    assert.equal(intake.offer("ingest", [event(3), event(4)]), true);
    while (g.held > 0) await g.release();
    assert.deepEqual(g.processed, [1, 2, 3, 4]);
    await intake.close();
  });

  await t.step("submit waits while the queue is full and resolves once processed", async () => {
    const g = gate();
    const intake = createIntake({
      clock: stillClock(),
      capacity: 1,
      maxBatch: 1,
      process: g.process,
      onError: () => {},
    });
    const first = intake.submit("s", event(1));
    await Promise.resolve();
    const second = intake.submit("s", event(2)); // queued: fills the one place
    let thirdDone = false;
    const third = intake.submit("s", event(3)).then(() => (thirdDone = true));
    await g.release(); // 1 done; 2 moves to processing, freeing the place for 3
    await first;
    assert.equal(thirdDone, false);
    await g.release();
    await second;
    await g.release();
    await third;
    assert.deepEqual(g.processed, [1, 2, 3]);
    await intake.close();
  });

  await t.step("a process failure is reported and the next event still runs", async () => {
    const errors: unknown[] = [];
    const done: number[] = [];
    const intake = createIntake({
      clock: stillClock(),
      process: ({ events: [event] }) => {
        if (event!.data.n === 1) return Promise.reject(new Error("boom"));
        done.push(event!.data.n as number);
        return Promise.resolve();
      },
      onError: (_batch, error) => errors.push(error),
    });
    await intake.submit("s", event(1));
    await intake.submit("s", event(2));
    assert.equal(errors.length, 1);
    assert.deepEqual(done, [2]);
    await intake.close();
  });

  await t.step("yields to the event loop between slices (a timer turn)", async () => {
    const clock = new FakeClock();
    const done: number[] = [];
    const intake = createIntake({
      clock,
      sliceMs: 5,
      maxBatch: 1,
      process: ({ events: [event] }) => {
        clock.busy(3); // each batch keeps the thread busy for 3 ms
        done.push(event!.data.n as number);
        return Promise.resolve();
      },
      onError: () => {},
    });
    intake.offer("s", [event(1), event(2), event(3), event(4)]);
    for (let i = 0; i < 10; i++) await Promise.resolve();
    assert.deepEqual(done, [1, 2], "after 6 ms of work the loop waits for a timer turn");
    assert.equal(clock.pendingTimers, 2, "the turn marker and the yield");
    clock.advance(0);
    for (let i = 0; i < 10; i++) await Promise.resolve();
    assert.deepEqual(done, [1, 2, 3, 4]);
    const closing = intake.close();
    clock.advance(0);
    await closing;
  });

  await t.step("close drains what is queued, then refuses more", async () => {
    const done: number[] = [];
    const intake = createIntake({
      clock: stillClock(),
      process: (batch) => {
        for (const event of batch.events) done.push(event.data.n as number);
        return Promise.resolve();
      },
      onError: () => {},
    });
    intake.offer("s", [event(1), event(2)]);
    await intake.close();
    assert.deepEqual(done, [1, 2]);
    assert.equal(intake.offer("s", [event(3)]), false);
    await assert.rejects(intake.submit("s", event(4)), IntakeClosedError);
  });
});

Deno.test("intake yields even to a producer that awaits each event on microtasks", async () => {
  const clock = new FakeClock();
  let processed = 0;
  const intake = createIntake({
    clock,
    sliceMs: 5,
    process: () => {
      clock.busy(1); // one event per batch: the producer awaits each one
      processed++;
      return Promise.resolve();
    },
    onError: () => {},
  });
  // A tight producer (submit, await, submit …): every event starts a new drain, and no
  // timer can run between them unless the intake yields.
  let stop = false;
  const producer = (async () => {
    while (!stop) await intake.submit("replay", event(processed));
  })();
  for (let i = 0; i < 200; i++) await Promise.resolve();
  assert.equal(processed, 5, "5 ms of work, then the loop waits for a timer turn");
  stop = true;
  clock.advance(0); // the timer turn: I/O would be served here
  for (let i = 0; i < 200; i++) await Promise.resolve();
  await producer;
  await intake.close();
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("intake batches", async (t) => {
  await t.step("takes what is queued, up to maxBatch, without waiting for more", async () => {
    const batches: string[][] = [];
    const intake = createIntake({
      clock: stillClock(),
      maxBatch: 3,
      process: (batch) => {
        batches.push(labels(batch));
        return Promise.resolve();
      },
      onError: () => assert.fail("no error expected"),
    });
    intake.offer("a", [event(1), event(2)]); // starts a batch of what is there: 2 events
    intake.offer("b", [event(3), event(4), event(5), event(6)]);
    await intake.submit("c", event(7));
    assert.deepEqual(batches, [["a:1", "a:2"], ["b:3", "b:4", "b:5"], ["b:6", "c:7"]]);
    await intake.submit("c", event(8));
    assert.deepEqual(batches.at(-1), ["c:8"], "a lone event is a batch of one, at once");
    await intake.close();
  });

  await t.step("maxBatch is read before every batch", async () => {
    const sizes: number[] = [];
    let limit = 4;
    const intake = createIntake({
      clock: stillClock(),
      maxBatch: () => limit,
      process: (batch) => {
        sizes.push(batch.events.length);
        limit = 1;
        return Promise.resolve();
      },
      onError: () => {},
    });
    intake.offer("a", Array.from({ length: 6 }, (_, i) => event(i)));
    await intake.close();
    assert.deepEqual(sizes, [4, 1, 1]);
  });

  await t.step("a failed batch is reported whole and the next batch still runs", async () => {
    const failed: number[] = [];
    const done: number[] = [];
    const intake = createIntake({
      clock: stillClock(),
      maxBatch: 2,
      process: (batch) => {
        const ns = batch.events.map((e) => e.data.n as number);
        if (ns.includes(1)) return Promise.reject(new Error("boom"));
        done.push(...ns);
        return Promise.resolve();
      },
      onError: (batch) => failed.push(...batch.events.map((e) => e.data.n as number)),
    });
    intake.offer("a", [event(0), event(1), event(2), event(3)]);
    await intake.close();
    assert.deepEqual(failed, [0, 1]);
    assert.deepEqual(done, [2, 3]);
  });
});

Deno.test("push waits for room, keeps the order, and says when its events are processed", async () => {
  const held = gate();
  const intake = createIntake({
    clock: stillClock(),
    capacity: 4,
    maxBatch: 2,
    process: held.process,
    onError: (_, error) => assert.fail(String(error)),
  });
  const done: string[] = [];
  await intake.push("log", [event(1), event(2), event(3)], () => done.push("first"));
  let second = false;
  const pushing = intake.push("log", [event(4), event(5)], () => done.push("second"))
    .then(() => (second = true));
  await held.release(); // first batch [1, 2] done: 1 queued, room for the 2 waiting
  await pushing;
  assert.equal(second, true);
  while (held.held > 0 || intake.pending > 0) await held.release();
  await intake.idle();
  assert.deepEqual(held.processed, [1, 2, 3, 4, 5]);
  assert.deepEqual(done, ["first", "second"]);
  await intake.close();
  await assert.rejects(intake.push("log", [event(6)]), IntakeClosedError);
});

Deno.test("a batch carries when its oldest event reached the intake", async () => {
  const clock = stillClock();
  const g = gate();
  const batches: IntakeBatch[] = [];
  const intake = createIntake({
    clock,
    maxBatch: 3,
    process: (batch) => {
      batches.push(batch);
      return g.process(batch);
    },
    onError: () => assert.fail("no error expected"),
  });
  clock.busy(100);
  intake.offer("ingest", [event(1)]); // taken at once: the first batch
  clock.busy(10);
  intake.offer("ingest", [event(2), event(3)]); // arrived at 110
  clock.busy(10);
  intake.offer("demo", [event(4), event(5)]); // arrived at 120
  clock.busy(50);
  for (let i = 0; i < 3; i++) {
    await g.release();
    clock.advance(0); // the slice is spent (time moved): the loop yields a timer turn
    await nextTurn();
  }
  await intake.close();
  assert.deepEqual(batches.map(labels), [["ingest:1"], ["ingest:2", "ingest:3", "demo:4"], [
    "demo:5",
  ]]);
  assert.deepEqual(batches.map((batch) => batch.arrivedAt), [100, 110, 120]);
});
