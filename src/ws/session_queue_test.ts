import { connectSession } from "../../tests/fakes/test_session.ts";
import { createTestProjector } from "../../tests/fakes/test_projector.ts";
import assert from "node:assert/strict";
import { MemoryTransport } from "../../tests/fakes/memory_transport.ts";
import { until } from "../../tests/wait.ts";
import { defineStack, toSeq } from "../stack/mod.ts";
import type { SessionLimits } from "./mod.ts";

const stack = defineStack({ name: "test", entities: { Token: { handlers: {} } } });

/** A projector and bus shared by every session `connect` creates. */
function setup() {
  const fixture = createTestProjector(stack);
  const { clock, telemetry, bus, projector } = fixture;
  const connect = (limits: Partial<SessionLimits> = {}) => {
    const { transport, session } = connectSession(fixture, { limits });
    const subscribe = (message: Record<string, unknown> = {}) =>
      session.receive(JSON.stringify({ type: "subscribe", view: "Token/list", ...message }));
    return { transport, session, subscribe };
  };
  /** Applies changes to `keys` (one mutation each) and publishes their frames now. */
  let slot = 0;
  const publish = (keys: string[], extra: Record<string, unknown> = {}) => {
    projector.apply(keys.map((key) => {
      const seq = toSeq(++slot, 0);
      return { entity: "Token", key, patch: { slot, ...extra, _seq: seq }, append: [], seq };
    }));
  };
  return { clock, telemetry, bus, projector, connect, publish };
}

/** How the transport was closed (a call, so earlier assertions do not narrow it). */
function closedWith(transport: MemoryTransport): { code: number; reason: string } | undefined {
  return transport.closedWith;
}

Deno.test("session outbound queue", async (t) => {
  await t.step(
    "a stalled client that overflows its queue is dropped as a slow consumer",
    async () => {
      const { connect, publish, telemetry, bus, clock } = setup();
      const slow = connect({ queueMaxFrames: 3, socketHighWaterBytes: 0 });
      const healthy = connect({ queueMaxFrames: 3, socketHighWaterBytes: 0 });
      slow.transport.stalled = true;
      slow.subscribe();
      healthy.subscribe();
      publish(["a", "b", "c"]);
      assert.equal(slow.session.queuedFrames, 3, "three live frames wait for the stalled client");
      assert.equal(slow.transport.closedWith, undefined);
      publish(["d"]);
      assert.equal(closedWith(slow.transport)?.code, 1008);
      assert.match(closedWith(slow.transport)?.reason ?? "", /^slow-consumer: /);
      assert.equal(telemetry.count("ws.slowConsumerDropped"), 1);
      assert.equal(slow.session.queuedFrames, 0, "queued frames are released");
      assert.equal(slow.session.subscriptionCount, 0);
      assert.equal(clock.pendingTimers, 0, "no drain poll left behind");
      publish(["e"]); // must not reach (or throw from) the closed transport
      assert.equal(slow.transport.sent.length, 1, "only the subscribed frame ever went out");

      // The other client is unaffected and got everything, in order.
      assert.equal(healthy.transport.closedWith, undefined);
      const frames = (await healthy.transport.frames()).map((f) => f.json);
      assert.deepEqual(frames.map((f) => f.key ?? f.op), ["subscribed", "a", "b", "c", "d", "e"]);
      assert.equal(bus.hasSubscribers("Token/list"), true);
    },
  );

  await t.step("the byte bound drops a slow consumer too", () => {
    const { connect, publish, telemetry } = setup();
    const slow = connect({ queueMaxFrames: 100, queueMaxBytes: 1024, socketHighWaterBytes: 0 });
    slow.transport.stalled = true;
    slow.subscribe();
    const pad = "x".repeat(600);
    publish(["a"], { pad });
    assert.equal(slow.transport.closedWith, undefined);
    publish(["b"], { pad });
    assert.equal(closedWith(slow.transport)?.code, 1008);
    assert.match(closedWith(slow.transport)?.reason ?? "", /^slow-consumer: /);
    assert.equal(telemetry.count("ws.slowConsumerDropped"), 1);
  });

  await t.step("a client that catches up gets its queued frames in order", async () => {
    const { connect, publish, clock } = setup();
    const client = connect({ queueMaxFrames: 10, socketHighWaterBytes: 0 });
    client.transport.stalled = true;
    client.subscribe();
    publish(["a", "b"]);
    assert.equal(client.transport.sent.length, 1);
    client.transport.stalled = false;
    client.transport.drain();
    clock.advance(10); // the queue re-checks the socket buffer
    assert.equal(client.session.queuedFrames, 0);
    const keys = (await client.transport.frames()).map((f) => f.json.key ?? f.json.op);
    assert.deepEqual(keys, ["subscribed", "a", "b"]);
    assert.equal(client.transport.closedWith, undefined);
  });

  await t.step("snapshot batches wait for space instead of dropping the client", async () => {
    const { connect, publish } = setup();
    publish(Array.from({ length: 160 }, (_, i) => `k${i}`));
    const client = connect({ queueMaxFrames: 2, socketHighWaterBytes: 0 });
    client.transport.stalled = true;
    client.subscribe();
    // subscribed went out; three snapshot batches are queued, beyond queueMaxFrames.
    assert.equal(client.session.queuedFrames, 3);
    assert.equal(client.transport.closedWith, undefined);
    client.session.close(1000, "done");
    await client.session.compressed(); // no compression outlives the test
  });

  await t.step("live frames stay behind a compressing snapshot", async () => {
    const { connect, publish } = setup();
    // 30 entities with repetitive data: one batch well over 1024 bytes that gzips well.
    publish(Array.from({ length: 30 }, (_, i) => `key-${i}`), { note: "compressible ".repeat(4) });
    const client = connect();
    client.subscribe();
    publish(["live"]);
    assert.equal(client.transport.sent.length, 1, "only subscribed: the snapshot is compressing");
    assert.equal(client.session.queuedFrames, 2);
    await client.session.compressed();
    await until(() => client.session.queuedFrames === 0, "the queue to empty");
    const frames = await client.transport.frames();
    assert.deepEqual(frames.map((f) => f.json.op), ["subscribed", "snapshot", "patch"]);
    assert.equal(frames[1]?.gzip, true);
    assert.equal(frames[1]?.binary, true);
    assert.equal((frames[1]?.json.data as unknown[]).length, 30);
    assert.equal(frames[2]?.gzip, false, "live frames are never compressed");
    assert.equal(frames[2]?.json.key, "live");
  });

  await t.step("several snapshot batches keep their order around live frames", async () => {
    const { connect, publish } = setup();
    publish(Array.from({ length: 120 }, (_, i) => `key-${i}`), { note: "compressible ".repeat(4) });
    const client = connect();
    client.subscribe();
    publish(["live-1"]);
    publish(["live-2"]);
    await client.session.compressed();
    await until(() => client.session.queuedFrames === 0, "the queue to empty");
    const frames = (await client.transport.frames()).map((f) => f.json);
    assert.deepEqual(frames.map((f) => f.op), [
      "subscribed",
      "snapshot",
      "snapshot",
      "patch",
      "patch",
    ]);
    assert.deepEqual(frames.slice(1, 3).map((f) => (f.data as unknown[]).length), [50, 70]);
    assert.deepEqual(frames.slice(1, 3).map((f) => f.complete), [false, true]);
    assert.deepEqual(frames.slice(3).map((f) => f.key), ["live-1", "live-2"]);
  });

  await t.step("a session closed while compressing sends nothing more", async () => {
    const { connect, publish } = setup();
    publish(Array.from({ length: 30 }, (_, i) => `key-${i}`), { note: "compressible ".repeat(4) });
    const client = connect();
    client.subscribe();
    client.session.close(1000, "bye");
    await client.session.compressed(); // the batch it was compressing is done: the barrier
    assert.equal(client.transport.sent.length, 1);
    assert.equal(client.session.queuedFrames, 0);
  });

  await t.step(
    "a client that sends requests without reading is dropped, not buffered without bound",
    () => {
      const { connect, publish, telemetry, bus } = setup();
      publish(["a", "b"]);
      const client = connect({ queueMaxFrames: 8, socketHighWaterBytes: 0 });
      client.transport.stalled = true;
      for (let i = 0; i < 10_000 && !client.session.closed; i++) {
        // Each distinct key is a new subscription: an ack (and a snapshot) per request.
        client.subscribe({ view: "Token/state", key: `k${i}` });
        client.session.receive(JSON.stringify({ type: "subscribe", view: "Token/state" }));
      }
      assert.equal(closedWith(client.transport)?.code, 1008);
      assert.match(closedWith(client.transport)!.reason, /^slow-consumer:/);
      assert.ok(client.transport.sent.length <= 8 + 2, `sent ${client.transport.sent.length}`);
      assert.equal(client.session.queuedFrames, 0);
      assert.equal(client.session.subscriptionCount, 0);
      assert.equal(bus.topicCount, 0, "no bus listener outlives the dropped session");
      assert.equal(telemetry.count("ws.slowConsumerDropped"), 1);
    },
  );

  await t.step("a snapshot may take the queue past its bound and still be delivered", async () => {
    const { connect, publish, clock } = setup();
    publish(Array.from({ length: 300 }, (_, i) => `key-${i}`));
    const client = connect({ queueMaxFrames: 2, socketHighWaterBytes: 0 });
    client.transport.stalled = true;
    client.subscribe();
    // The ack went out before the socket backed up; the four batches (50+100+100+50) wait.
    await client.session.compressed();
    assert.equal(client.session.queuedFrames, 4, "four snapshot batches queued");
    assert.equal(client.session.closed, false);
    client.transport.stalled = false;
    client.transport.drain();
    clock.advance(50); // the session re-checks a full socket on a timer
    await until(() => client.session.queuedFrames === 0, "the queue to drain");
    const frames = (await client.transport.frames()).map((f) => f.json);
    assert.deepEqual(frames.map((f) => f.op), [
      "subscribed",
      "snapshot",
      "snapshot",
      "snapshot",
      "snapshot",
    ]);
  });
});
