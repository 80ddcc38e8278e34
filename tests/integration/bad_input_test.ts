/**
 * docs/protocol.md §2 "Unparseable text, wrong field types, binary client messages": ignored,
 * counted, the socket stays open; messages over the size limit close only their socket
 * with 1009.
 */
import assert from "node:assert/strict";
import { transfer } from "../fakes/manual_source.ts";
import { startTestServer } from "../fakes/test_server.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { barrier, closedWithin, framesFor, isAuthReply, opsFor } from "./_helpers.ts";

const LIST = "Token/list";
const MAX_MESSAGE_BYTES = 1024;
const encoder = new TextEncoder();

/** One of each kind of bad message; the barrage repeats them. */
const BAD_MESSAGES: readonly (string | Uint8Array)[] = [
  // not JSON
  "not json",
  "{",
  '{"type":"subscribe","view":"Token/list"',
  "",
  "\u0000\u0001",
  // JSON, but not an object
  "null",
  "42",
  '"subscribe"',
  "[]",
  '[{"type":"subscribe","view":"Token/list"}]',
  "[".repeat(400) + "]".repeat(400),
  // wrong or missing fields
  JSON.stringify({ type: "subscribe" }),
  JSON.stringify({ type: "subscribe", view: 5 }),
  JSON.stringify({ type: "subscribe", view: "" }),
  JSON.stringify({ type: "subscribe", view: "Token:list" }),
  JSON.stringify({ type: "subscribe", view: LIST, key: 7 }),
  JSON.stringify({ type: "subscribe", view: LIST, take: "3" }),
  JSON.stringify({ type: "subscribe", view: LIST, take: -1 }),
  JSON.stringify({ type: "subscribe", view: LIST, skip: 1.5 }),
  JSON.stringify({ type: "subscribe", view: LIST, withSnapshot: "no" }),
  JSON.stringify({ type: "subscribe", view: LIST, after: "yesterday" }),
  JSON.stringify({ type: "subscribe", view: LIST, after: 5 }),
  JSON.stringify({ type: "subscribe", view: LIST, snapshotLimit: 1e12 }),
  JSON.stringify({ view: ["Token/list"] }),
  JSON.stringify({ type: "unsubscribe" }),
  JSON.stringify({ type: "unsubscribe", view: {} }),
  JSON.stringify({ type: "refresh_auth" }),
  JSON.stringify({ type: "refresh_auth", token: 5 }),
  // unknown types
  JSON.stringify({ type: "bogus", view: LIST }),
  JSON.stringify({ type: 42 }),
  JSON.stringify({ hello: "world" }),
  // binary messages, including a well-formed subscribe sent as binary
  new Uint8Array([1, 2, 3]),
  new Uint8Array(0),
  encoder.encode(JSON.stringify({ type: "subscribe", view: LIST })),
];
const REPEAT = 10;

Deno.test("bad input: hundreds of malformed messages are ignored and counted", async (t) => {
  await using server = await startTestServer({
    env: { PHAROS_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) },
  });
  await using watcher = await TestClient.connect(server.wsUrl);
  watcher.send({ type: "subscribe", view: LIST });
  await barrier(watcher);
  await using noisy = await TestClient.connect(server.wsUrl);

  let emitted = 0;
  const total = BAD_MESSAGES.length * REPEAT;
  await t.step(`${total} bad messages: no reply, no close, each counted`, async () => {
    for (let round = 0; round < REPEAT; round++) {
      for (const message of BAD_MESSAGES) noisy.socket.send(message);
      // Live traffic keeps flowing to the other client meanwhile.
      await server.source.emit(transfer(`mint${round}`, 100 + round));
      emitted++;
    }
    await barrier(noisy);
    assert.deepEqual(noisy.frames.filter((f) => !isAuthReply(f)), [], "nothing but the barrier");
    assert.equal(noisy.socket.readyState, WebSocket.OPEN);
    assert.equal(server.telemetry.count("ws.connectionError"), total);
    assert.equal(server.telemetry.count("ws.subscriptionCreated"), 1, "only the watcher's");
  });

  await t.step("the other client received every live frame", async () => {
    await barrier(watcher);
    assert.equal(opsFor(watcher.frames, LIST, "patch").length, emitted);
  });

  await t.step("the noisy socket still works", async () => {
    noisy.send({ type: "subscribe", view: LIST });
    await barrier(noisy);
    assert.deepEqual(framesFor(noisy.frames, LIST).map((f) => f.json.op), [
      "subscribed",
      "snapshot",
    ]);
  });

  await t.step("a message of exactly the maximum size is accepted", async () => {
    const head = '{"type":"ping","pad":"';
    const ping = head + "x".repeat(MAX_MESSAGE_BYTES - head.length - 2) + '"}';
    assert.equal(encoder.encode(ping).length, MAX_MESSAGE_BYTES);
    noisy.send(ping);
    await barrier(noisy);
    assert.equal(noisy.socket.readyState, WebSocket.OPEN);
    assert.equal(server.telemetry.count("ws.connectionError"), total, "a valid ping");
  });

  await t.step("an oversized text message closes only that socket, with 1009", async () => {
    noisy.send("é".repeat(MAX_MESSAGE_BYTES / 2 + 1)); // 1026 bytes in UTF-8, 513 characters
    const close = await closedWithin(noisy);
    assert.equal(close.code, 1009);
    assert.match(close.reason, /^message-too-big/);
    assert.equal(server.telemetry.count("ws.connectionError", "message-too-big"), 1);

    await server.source.emit(transfer("after", 200));
    emitted++;
    await barrier(watcher);
    assert.equal(opsFor(watcher.frames, LIST, "patch").length, emitted, "the watcher goes on");
    assert.equal(watcher.socket.readyState, WebSocket.OPEN);
  });

  await t.step("an oversized binary message closes with 1009 too", async () => {
    await using big = await TestClient.connect(server.wsUrl);
    big.socket.send(new Uint8Array(MAX_MESSAGE_BYTES + 1));
    assert.equal((await closedWithin(big)).code, 1009);
    await barrier(watcher);
    assert.equal(watcher.socket.readyState, WebSocket.OPEN);
  });
});
