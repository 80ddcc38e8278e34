/**
 * docs/protocol.md §5 with real sockets: a client that never reads is dropped as a slow
 * consumer (1008 "slow-consumer: …") while the clients that do read get every frame,
 * and the server's memory stays bounded meanwhile.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../fakes/test_server.ts";
import { docStack, put } from "./_helpers.ts";
import { until } from "../wait.ts";
import { RawWebSocket, toClose } from "./_raw_ws.ts";

/** About 16 KB per live frame, so the non-reader's socket buffers fill fast. */
const PAYLOAD = "x".repeat(16 * 1024);
/** Events emitted per flush; readers catch up between batches. */
const BATCH = 8;
/** Hard bound on the test: the non-reader must be dropped well before this. */
const MAX_EVENTS = 4000;
/** Events emitted after the drop, to show the readers are unaffected. */
const AFTER_DROP = 64;
const MiB = 1024 * 1024;

/**
 * A reading client that keeps only counts, so its own memory does not blur the server's:
 * it checks that live patches arrive complete and in order (`n` = 0, 1, 2, …).
 */
class CountingReader implements AsyncDisposable {
  readonly socket: WebSocket;
  patches = 0;
  outOfOrder = 0;
  acked = false;
  readonly closed: Promise<CloseEvent>;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.binaryType = "arraybuffer";
    this.closed = new Promise((resolve) => this.socket.addEventListener("close", resolve));
    this.socket.addEventListener("message", (event) => {
      const json = JSON.parse(
        typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data),
      );
      if (json.op === "subscribed") this.acked = true;
      if (json.op !== "patch") return;
      if (json.data.n !== this.patches || json.data.text.length !== PAYLOAD.length) {
        this.outOfOrder++;
      }
      this.patches++;
    });
  }

  async subscribe(): Promise<void> {
    await new Promise((resolve, reject) => {
      this.socket.addEventListener("open", resolve, { once: true });
      this.socket.addEventListener("error", reject, { once: true });
    });
    this.socket.send(JSON.stringify({ type: "subscribe", view: "Doc/list" }));
    await until(() => this.acked, "the reader's subscribed ack");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    await this.closed;
  }
}

Deno.test("slow consumer: a client that never reads is dropped, readers get every frame", async (t) => {
  await using server = await startTestServer({
    stack: docStack,
    env: { PHAROS_QUEUE_FRAMES: "16", PHAROS_QUEUE_BYTES: String(4 * MiB) },
  });
  await using readers = new AsyncDisposableStack();
  const reading = Array.from({ length: 10 }, () => readers.use(new CountingReader(server.wsUrl)));
  await Promise.all(reading.map((r) => r.subscribe()));

  // The non-reader: a raw TCP WebSocket that subscribes and then never reads again.
  const { socket: stalled, response } = await RawWebSocket.open(server.port);
  await using _stalled = stalled;
  assert.equal(response.status, 101);
  await stalled.sendText({ type: "subscribe", view: "Doc/list" });
  await until(
    () => server.telemetry.count("ws.subscriptionCreated") === reading.length + 1,
    "the non-reader's subscription",
  );

  const rssBefore = Deno.memoryUsage().rss;
  let rssPeak = rssBefore;
  let emitted = 0;
  const emitBatch = async () => {
    const events = Array.from({ length: BATCH }, () => put("doc", emitted + 1, PAYLOAD, emitted++));
    await server.source.emit(...events);
    await until(
      () => reading.every((r) => r.patches === emitted),
      `readers to receive ${emitted} patches`,
      10_000,
    );
    rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
  };

  await t.step("the non-reader is dropped once its queue is full", async () => {
    while (server.telemetry.count("ws.slowConsumerDropped") === 0) {
      assert.ok(emitted < MAX_EVENTS, `not dropped after ${emitted} frames of 16 KB`);
      await emitBatch();
    }
    assert.equal(server.telemetry.count("ws.slowConsumerDropped"), 1, "only the non-reader");
  });

  await t.step("readers are unaffected after the drop", async () => {
    const target = emitted + AFTER_DROP;
    while (emitted < target) await emitBatch();
    for (const reader of reading) {
      assert.equal(reader.patches, emitted, "every live frame reached every reader");
      assert.equal(reader.outOfOrder, 0, "in order and complete");
      assert.equal(reader.socket.readyState, WebSocket.OPEN);
    }
    assert.equal(server.telemetry.count("ws.slowConsumerDropped"), 1);
  });

  await t.step("memory stayed bounded while the non-reader was stuck", () => {
    const growthMiB = (rssPeak - rssBefore) / MiB;
    assert.ok(growthMiB < 200, `RSS grew by ${growthMiB.toFixed(1)} MiB`);
  });

  await t.step(
    "reading at last: frames in order without gaps, then close 1008 slow-consumer",
    async () => {
      let n = 0;
      let close: { code: number; reason: string } | undefined;
      for (;;) {
        const frame = await stalled.readFrame(10_000);
        assert.ok(
          frame !== undefined,
          "the server sent a close frame before ending the TCP stream",
        );
        if (frame.opcode === 8) {
          close = toClose(frame);
          break;
        }
        const json = JSON.parse(new TextDecoder().decode(frame.payload));
        if (json.op === "patch") assert.equal(json.data.n, n++, "no gap before the close");
      }
      assert.equal(close.code, 1008);
      assert.match(close.reason, /^slow-consumer:/);
      assert.ok(n > 0 && n < emitted, `got a prefix of the stream (${n} of ${emitted})`);
      await stalled.sendClose(1000);
      assert.equal(await stalled.readFrame(5000), undefined, "the server ends the connection");
      await until(
        () => server.app.ws.clientCount === reading.length,
        "the server to forget the non-reader",
      );
    },
  );
});
