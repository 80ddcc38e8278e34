import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { MemoryTransport } from "../../tests/fakes/memory_transport.ts";
import { createSendScheduler, type Pumpable } from "./mod.ts";
import { OutboundQueue } from "./_outbound_queue.ts";

/** A queue that reports `frames` per pump and whose bytes are written when told. */
class FakeQueue implements Pumpable {
  pumps = 0;
  unsentBytes = 0;
  startedEmpty = true;
  constructor(readonly frames: number, readonly onPump: () => void = () => {}) {}
  pump(): number {
    this.pumps++;
    this.startedEmpty = this.unsentBytes === 0;
    this.onPump();
    this.unsentBytes = this.frames * 100;
    return this.frames;
  }
}

/** Yields that resolve only when the test says the event loop has turned. */
function manualTurns() {
  const waiting: (() => void)[] = [];
  return {
    yieldToEventLoop: () => new Promise<void>((resolve) => waiting.push(resolve)),
    turn: async () => {
      waiting.splice(0).forEach((resolve) => resolve());
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
    get waiting() {
      return waiting.length;
    },
  };
}

Deno.test("a scheduled queue is pumped in the same turn, after the current code", async () => {
  const turns = manualTurns();
  const scheduler = createSendScheduler({ clock: new FakeClock(), ...turns });
  const queue = new FakeQueue(1);
  scheduler.schedule(queue);
  scheduler.schedule(queue);
  assert.equal(queue.pumps, 0, "not during the publish itself");
  assert.equal(scheduler.busy, true);
  await Promise.resolve();
  assert.equal(queue.pumps, 1, "scheduled twice, pumped once");
  queue.unsentBytes = 0;
  await turns.turn();
  assert.equal(scheduler.busy, false);
});

Deno.test("a full slice is written before the next is handed over", async () => {
  const turns = manualTurns();
  const scheduler = createSendScheduler({
    clock: new FakeClock(),
    sliceFrames: 1500,
    burstFactor: 1,
    ...turns,
  });
  const queues = [new FakeQueue(1000), new FakeQueue(1000), new FakeQueue(1000)];
  for (const queue of queues) scheduler.schedule(queue);
  await Promise.resolve();
  assert.deepEqual(queues.map((q) => q.pumps), [1, 1, 0], "2000 frames fill the slice");
  await turns.turn();
  assert.equal(queues[2]!.pumps, 0, "the slice is not written yet");
  queues[1]!.unsentBytes = 0; // the runtime wrote the slice (the last queue stands for it)
  await turns.turn();
  assert.equal(queues[2]!.pumps, 1);
  let idle = false;
  const whenIdle = scheduler.idle().then(() => (idle = true));
  await turns.turn();
  assert.equal(idle, false, "the last slice is still being written");
  queues[2]!.unsentBytes = 0;
  await turns.turn();
  await whenIdle;
  assert.equal(scheduler.busy, false);
});

Deno.test("a slice that is never written holds the others back for maxWriteWaitMs only", async () => {
  const clock = new FakeClock();
  const turns = manualTurns();
  const scheduler = createSendScheduler({
    clock,
    sliceFrames: 10,
    maxWriteWaitMs: 20,
    burstFactor: 1,
    ...turns,
  });
  const stalled = new FakeQueue(10);
  const next = new FakeQueue(1);
  scheduler.schedule(stalled);
  scheduler.schedule(next);
  await Promise.resolve();
  clock.busy(19);
  await turns.turn();
  assert.equal(next.pumps, 0);
  clock.busy(1);
  await turns.turn();
  assert.equal(next.pumps, 1, "after 20 ms the next slice goes anyway");
});

Deno.test("a slice also ends after sliceMs of pumping", async () => {
  const clock = new FakeClock();
  const turns = manualTurns();
  const scheduler = createSendScheduler({ clock, sliceMs: 4, burstFactor: 1, ...turns });
  const slow = new FakeQueue(1, () => clock.busy(5));
  const next = new FakeQueue(1);
  scheduler.schedule(slow);
  scheduler.schedule(next);
  await Promise.resolve();
  assert.equal(next.pumps, 0, "5 ms of pumping ended the slice");
  assert.equal(turns.waiting, 1);
  slow.unsentBytes = 0;
  await turns.turn();
  assert.equal(next.pumps, 1);
});

Deno.test("a pump that throws is reported and the other queues are still pumped", async () => {
  const errors: unknown[] = [];
  const turns = manualTurns();
  const scheduler = createSendScheduler({
    clock: new FakeClock(),
    onError: (error) => errors.push(error),
    ...turns,
  });
  const broken = new FakeQueue(1, () => {
    throw new Error("socket gone");
  });
  const healthy = new FakeQueue(1);
  scheduler.schedule(broken);
  scheduler.schedule(healthy);
  await Promise.resolve();
  assert.equal(healthy.pumps, 1);
  assert.equal((errors[0] as Error).message, "socket gone");
});

Deno.test("frames waiting for the scheduler do not make a keeping-up client a slow consumer", async () => {
  const clock = new FakeClock();
  const turns = manualTurns();
  const scheduler = createSendScheduler({ clock, ...turns });
  const transport = new MemoryTransport();
  let overflows = 0;
  const queue = new OutboundQueue({
    transport,
    clock,
    limits: { queueMaxFrames: 4, queueMaxBytes: 1024, socketHighWaterBytes: 64 },
    scheduler,
    events: {
      onSent: () => {},
      onOverflow: () => overflows++,
      onSendError: (error) => assert.fail(String(error)),
    },
  });
  const frame = new Uint8Array(8);
  for (let i = 0; i < 10; i++) assert.equal(queue.pushLive(frame), true);
  assert.equal(transport.sent.length, 0, "sent by the scheduler, not by pushLive");
  await Promise.resolve();
  assert.equal(transport.sent.length, 10);
  assert.equal(overflows, 0);
  await turns.turn(); // written at once: the client keeps up
  assert.equal(scheduler.busy, false);

  // A client that stopped reading: its socket passes the high-water mark, frames are held
  // in the queue, and past queueMaxFrames the slow-consumer rule applies.
  transport.stalled = true;
  for (let i = 0; i < 9; i++) queue.pushLive(frame);
  await Promise.resolve();
  assert.equal(transport.sent.length, 19, "the 9 frames of the new burst (72 B) went out");
  clock.busy(20); // the scheduler gives up waiting for them to be written
  await turns.turn();
  assert.equal(scheduler.busy, false);
  for (let i = 0; i < 5; i++) queue.pushLive(frame);
  assert.equal(overflows, 0);
  await Promise.resolve();
  assert.equal(transport.sent.length, 19, "over the high-water mark: held in the queue");
  queue.pushLive(frame);
  assert.equal(overflows, 1, "held frames count: the fifth beyond the limit overflows");
});

Deno.test("after a quiet spell the first slice is a burst; under sustained load slices are small", async () => {
  const clock = new FakeClock();
  const turns = manualTurns();
  const scheduler = createSendScheduler({
    clock,
    sliceFrames: 100,
    burstFactor: 4,
    quietMs: 10,
    ...turns,
  });
  const burst = Array.from({ length: 5 }, () => new FakeQueue(100));
  const write = () => burst.forEach((q) => (q.unsentBytes = 0));
  for (const queue of burst) scheduler.schedule(queue);
  await Promise.resolve();
  assert.deepEqual(burst.map((q) => q.pumps), [1, 1, 1, 1, 0], "400 frames in the first slice");
  write();
  await turns.turn();
  assert.equal(burst[4]!.pumps, 1);
  write();
  await turns.turn();
  assert.equal(scheduler.busy, false);

  // The next run starts 1 ms later: sustained load, 100-frame slices from the start.
  clock.busy(1);
  for (const queue of burst) scheduler.schedule(queue);
  await Promise.resolve();
  assert.deepEqual(burst.map((q) => q.pumps), [2, 1, 1, 1, 1]);
});
