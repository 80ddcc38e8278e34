import assert from "node:assert/strict";
import { DeliveryStamp, LAG_SAMPLES_PER_STAMP } from "../bus/mod.ts";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { MemoryTransport } from "../../tests/fakes/memory_transport.ts";
import { OutboundQueue } from "./_outbound_queue.ts";

const LIMITS = { queueMaxFrames: 100, queueMaxBytes: 1 << 20, socketHighWaterBytes: 1 << 20 };
const FRAME = new Uint8Array(16);

/** A client's queue with no scheduler (frames go out as they are queued), and its samples. */
function client(clock: FakeClock, transport = new MemoryTransport()) {
  const samples: [string, number][] = [];
  const queue = new OutboundQueue({
    transport,
    clock,
    limits: LIMITS,
    events: {
      onSent: () => {},
      onOverflow: () => assert.fail("no overflow expected"),
      onSendError: (error) => assert.fail(String(error)),
      onDelivered: (view, lagMs) => void samples.push([view, lagMs]),
    },
  });
  return { queue, samples, transport };
}

Deno.test("a frame handed to the socket samples its batch's lag, once per batch", async (t) => {
  const clock = new FakeClock();
  const { queue, samples, transport } = client(clock);
  const first = new DeliveryStamp("Token/list", clock.monotonic(), 1);
  clock.advance(30);

  await t.step("the first frame of a batch: the time since its oldest event arrived", () => {
    queue.pushLive(FRAME, first);
    assert.equal(transport.sent.length, 1);
    assert.deepEqual(samples, [["Token/list", 30]]);
  });
  await t.step("the batch's other frames add no sample", () => {
    queue.pushLive(FRAME, first);
    queue.pushLive(FRAME, first);
    assert.equal(transport.sent.length, 3);
    assert.equal(samples.length, 1);
  });
  await t.step("the next batch samples again; replies and unstamped frames never", () => {
    const second = new DeliveryStamp("Token/list", clock.monotonic(), 1);
    clock.advance(5);
    queue.pushReply("{}");
    queue.pushLive(FRAME);
    queue.pushLive(FRAME, second);
    assert.deepEqual(samples, [["Token/list", 30], ["Token/list", 5]]);
  });
});

Deno.test("frames held by a blocked socket sample when they are handed over, not queued", () => {
  const clock = new FakeClock();
  const transport = new MemoryTransport();
  const samples: number[] = [];
  const queue = new OutboundQueue({
    transport,
    clock,
    limits: { ...LIMITS, socketHighWaterBytes: 8 },
    events: {
      onSent: () => {},
      onOverflow: () => assert.fail("no overflow expected"),
      onSendError: (error) => assert.fail(String(error)),
      onDelivered: (_view, lagMs) => void samples.push(lagMs),
    },
  });
  transport.stalled = true;
  queue.pushLive(FRAME, new DeliveryStamp("Token/list", 0, 1)); // fills the socket
  const held = new DeliveryStamp("Token/list", clock.monotonic(), 1);
  queue.pushLive(FRAME, held);
  assert.equal(queue.frames, 1, "held in the queue");
  assert.deepEqual(samples, [0]);
  clock.advance(240); // the drain poll finds the socket still full, every 10 ms
  assert.equal(queue.frames, 1);
  transport.stalled = false;
  transport.drain();
  clock.advance(10); // the next poll finds it writable
  assert.equal(queue.frames, 0);
  assert.deepEqual(samples, [0, 250]);
  queue.close();
});

Deno.test("over many clients a batch gives at most 16 samples, spread over the whole fan-out", () => {
  const clock = new FakeClock();
  const clients = Array.from({ length: 100 }, () => client(clock));
  const stamp = new DeliveryStamp("Token/list", 0, clients.length);
  clients.forEach(({ queue }, i) => {
    clock.advance(1); // the i-th client is served i + 1 ms after the arrival
    queue.pushLive(FRAME, stamp);
    queue.pushLive(FRAME, stamp);
    assert.equal(clients[i]!.transport.sent.length, 2);
  });
  const lags = clients.flatMap(({ samples }) => samples.map(([, lag]) => lag));
  // A stride of ceil(100 / 16) = 7: clients 1, 8, 15, … 99.
  assert.equal(lags.length, LAG_SAMPLES_PER_STAMP - 1);
  assert.equal(lags[0], 1);
  assert.equal(lags.at(-1), 99, "the last clients served are sampled too");

  const three = clients.slice(0, 3);
  const before = three.map(({ samples }) => samples.length);
  const few = new DeliveryStamp("Token/list", clock.monotonic(), 3);
  for (const { queue } of three) queue.pushLive(FRAME, few);
  assert.deepEqual(
    three.map(({ samples }, i) => samples.length - before[i]!),
    [1, 1, 1],
    "with fewer clients than 16, every one is sampled",
  );
});
