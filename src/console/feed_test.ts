import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { nextTurn } from "../../tests/wait.ts";
import { createMemoryBus } from "../bus/mod.ts";
import { getLogger } from "../log/mod.ts";
import { noopTelemetry } from "../telemetry/mod.ts";
import { type ConsoleSession, createConsoleFeed, createConsoleTap } from "./mod.ts";

/** Reads server-sent events from a feed response, one `{event, data}` at a time. */
function eventsOf(response: Response) {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    async next(): Promise<{ event: string; data: Record<string, unknown> }> {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)![1]!;
          const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!);
          return { event, data };
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("the feed ended");
        buffer += value;
      }
    },
    cancel: () => reader.cancel(),
  };
}

function setup() {
  const clock = new FakeClock();
  const tap = createConsoleTap();
  const telemetry = tap.telemetry(noopTelemetry);
  const bus = tap.bus(
    createMemoryBus({ log: getLogger(["pharos", "test"]), onListenerError() {} }),
  );
  let events = 0;
  const sessions: ConsoleSession[] = [];
  const feed = createConsoleFeed({
    tap,
    clock,
    readings: {
      status: () => ({ ready: true, connections: sessions.length, sources: [{ events }] }),
      views: [{ id: "Token/list", entity: "Token", kind: "list" }],
      sessions: () => sessions,
      queueMaxFrames: 10,
      recentLogs: () => [],
      wsPort: () => undefined,
    },
  });
  return {
    clock,
    tap,
    telemetry,
    bus,
    feed,
    sessions,
    addEvents: (n: number) => void (events += n),
  };
}

Deno.test("console feed: updates only while a console is open, as rates", async () => {
  const { clock, tap, telemetry, bus, feed, sessions, addEvents } = setup();
  const frame = { key: "k", bytes: new Uint8Array(1) };
  bus.publish("Token/list", frame);
  assert.equal(tap.watching, false, "no console: the bus counts nothing");
  assert.equal(clock.pendingTimers, 0, "no console: no timer");

  const stream = eventsOf(feed.stream());
  const hello = await stream.next();
  assert.equal(hello.event, "hello");
  assert.deepEqual(hello.data.history, []);
  assert.equal(tap.watching, true);
  assert.equal(feed.open, 1);

  clock.advance(0); // the first reading
  await stream.next();
  telemetry.ws.subscriptionCreated("Token/list");
  sessions.push({
    id: "c1",
    peer: "1.2.3.4:5",
    openedAt: 0,
    subscriptionCount: 1,
    queuedFrames: 6,
    closed: false,
  });
  for (let i = 0; i < 29; i++) bus.publish("Token/list", frame);
  bus.publish('Token/list|"alice"', frame); // a row group's topic counts for its view
  bus.publish("Token/latest#1", frame);
  addEvents(40);
  telemetry.vm.handlerError("Token", "refused");
  telemetry.projector.batchDone(0.004);
  telemetry.projector.batchDone(0.002);
  clock.advance(1_000); // the next reading, a second later
  const update = (await stream.next()).data as {
    point: Record<string, number>;
    views: { id: string; subscribers: number; frames_per_s: number }[];
    clients: { count: number; list: { id: string; slow: boolean; age_s: number }[] };
  };
  assert.equal(update.point.events_per_s, 40);
  assert.equal(update.point.frames_per_s, 31, "the derived window's frame included");
  assert.equal(update.point.handler_errors_per_s, 1);
  assert.equal(update.point.latency_avg_ms, 3);
  assert.equal(update.point.latency_max_ms, 4);
  assert.equal(update.point.connections, 1);
  assert.deepEqual(update.views, [
    { id: "Token/list", entity: "Token", kind: "list", subscribers: 1, frames_per_s: 30 },
  ]);
  assert.equal(update.clients.count, 1);
  assert.equal(update.clients.list[0]!.slow, true, "6 of 10 queued frames: slow");

  // A second console gets the history so far.
  const second = eventsOf(feed.stream());
  const secondHello = await second.next();
  assert.equal((secondHello.data.history as unknown[]).length, 2);
  await second.cancel();
  assert.equal(feed.open, 1);

  await stream.cancel();
  assert.equal(feed.open, 0);
  assert.equal(tap.watching, false, "the last console gone: counting stops");
  clock.advance(5_000);
  assert.equal(clock.pendingTimers, 0, "and the timer with it");
});

Deno.test("console feed: a console that stops reading is dropped, not buffered without bound", async () => {
  const { clock, feed } = setup();
  const response = feed.stream(); // never read past the first chunk
  for (let i = 0; i < 40; i++) {
    clock.advance(1_000);
    await nextTurn(); // the reading (the status is read asynchronously) and its send
  }
  assert.equal(feed.open, 0);
  await response.body!.cancel();
  assert.equal(clock.pendingTimers, 0);
});
