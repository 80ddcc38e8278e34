import assert from "node:assert/strict";
import { FakeClock } from "../../../tests/fakes/fake_clock.ts";
import type { PharosEvent } from "../../stack/mod.ts";
import { createDemoSource, type DemoSourceOptions, type SourceStatus } from "../mod.ts";
import { nextTurn } from "../../../tests/wait.ts";

/** Lets the source's asynchronous tick (sink calls, rescheduling) run to completion. */
const settle = nextTurn;

async function setup(options: Partial<DemoSourceOptions> = {}) {
  const clock = new FakeClock();
  const source = createDemoSource({ clock, ...options });
  const events: PharosEvent[] = [];
  const statuses: [SourceStatus, string | undefined][] = [];
  let failNext = false;
  await source.start({
    sink: (event) => {
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error("pipeline down"));
      }
      events.push(event);
      return Promise.resolve();
    },
    offer: () => assert.fail("the demo source waits for room; it never offers"),
    capacity: 10_000,
    onStatus: (status, message) => statuses.push([status, message]),
  });
  /** Advances `ms` of fake time in `stepMs` steps, letting each tick finish. */
  const run = async (ms: number, stepMs = 100) => {
    for (let elapsed = 0; elapsed < ms; elapsed += stepMs) {
      clock.advance(stepMs);
      await settle();
    }
  };
  return { clock, source, events, statuses, run, failOnce: () => failNext = true };
}

Deno.test("demo source", async (t) => {
  await t.step("emits about rate events per second of advanced time", async () => {
    const { source, events, statuses, run } = await setup({ ratePerSecond: 10 });
    assert.deepEqual(statuses, [["connected", undefined]]);
    await run(10_000);
    assert.ok(events.length >= 95 && events.length <= 100, `got ${events.length} events`);
    await source.stop();
  });

  await t.step("a higher rate emits proportionally more", async () => {
    const { source, events, run } = await setup({ ratePerSecond: 50 });
    await run(2_000, 20);
    assert.ok(events.length >= 95 && events.length <= 100, `got ${events.length} events`);
    await source.stop();
  });

  await t.step("events are Transfers over `keys` mints, with increasing slots", async () => {
    const { source, events, run } = await setup({ ratePerSecond: 10, keys: 3, slotMs: 400 });
    await run(5_000);
    assert.ok(events.length > 40);
    assert.ok(events.every((e) => e.type === "Transfer"));
    assert.equal(new Set(events.map((e) => e.data.mint)).size, 3);
    assert.ok(events.every((e) => /^\d+$/.test(e.data.amount as string)), "decimal amounts");
    const slots = events.map((e) => e.slot!);
    for (let i = 1; i < slots.length; i++) assert.ok(slots[i]! >= slots[i - 1]!, "never decreases");
    assert.ok(
      slots.at(-1)! - slots[0]! >= 10,
      `5 s at 400 ms per slot: ${slots[0]}..${slots.at(-1)}`,
    );
    await source.stop();
  });

  await t.step("stop() ends the stream and leaves no timer", async () => {
    const { source, events, run, clock } = await setup({ ratePerSecond: 10 });
    await run(1_000);
    const before = events.length;
    assert.ok(before > 0);
    await source.stop();
    assert.equal(clock.pendingTimers, 0);
    await run(5_000);
    assert.equal(events.length, before);
  });

  await t.step("rate 0 emits nothing", async () => {
    const { source, events, statuses, run, clock } = await setup({ ratePerSecond: 0 });
    await run(5_000);
    assert.equal(events.length, 0);
    assert.equal(clock.pendingTimers, 0);
    assert.deepEqual(statuses, [["connected", undefined]]);
    await source.stop();
  });

  await t.step("after a stall it catches up at most one second's worth", async () => {
    const { source, events, clock, run } = await setup({ ratePerSecond: 10 });
    clock.advance(60_000); // one tick fires, then nothing runs for a minute
    await settle();
    const afterStall = events.length;
    await run(100);
    assert.ok(events.length - afterStall <= 10, `burst of ${events.length - afterStall}`);
    await source.stop();
  });

  await t.step("a failing sink is reported as an error and the stream goes on", async () => {
    const { source, events, statuses, run, failOnce } = await setup({ ratePerSecond: 10 });
    failOnce();
    await run(1_000);
    assert.deepEqual(statuses[1], ["error", "pipeline down"]);
    assert.ok(events.length >= 5, `got ${events.length}`);
    await source.stop();
  });

  await t.step("the same seed gives the same stream", async () => {
    const a = await setup({ ratePerSecond: 10, seed: 7 });
    const b = await setup({ ratePerSecond: 10, seed: 7 });
    await a.run(1_000);
    await b.run(1_000);
    assert.ok(a.events.length > 0);
    assert.deepEqual(a.events, b.events);
    await a.source.stop();
    await b.source.stop();
  });
});
