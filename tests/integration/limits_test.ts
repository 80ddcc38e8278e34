/**
 * Connection limits over real sockets: max clients (HTTP 503, docs/protocol.md §1 and §6), the
 * idle timeout (§5) and the per-connection subscription limit (§6).
 */
import assert from "node:assert/strict";
import { transfer } from "../fakes/manual_source.ts";
import { startTestServer } from "../fakes/test_server.ts";
import { FakeClock } from "../fakes/fake_clock.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { barrier, closedWithin, framesFor, opsFor } from "./_helpers.ts";
import { until } from "../wait.ts";
import { RawWebSocket } from "./_raw_ws.ts";

const LIST = "Token/list";
const STATE = "Token/state";
const LATEST = "Token/latest";

Deno.test("max clients: the next upgrade gets HTTP 503 until a client leaves", async (t) => {
  await using server = await startTestServer({ env: { PHAROS_MAX_CLIENTS: "2" } });
  const first = await TestClient.connect(server.wsUrl);
  await using _first = first;
  await using second = await TestClient.connect(server.wsUrl);
  await until(() => server.app.ws.clientCount === 2, "two clients");

  await t.step("the refusal: 503, JSON error body and the §6 headers", async () => {
    const { socket, response } = await RawWebSocket.open(server.port);
    await using _socket = socket;
    assert.equal(response.status, 503);
    assert.equal(response.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(response.headers["x-error-code"], "server-at-capacity");
    assert.equal(response.headers["cache-control"], "no-store");
    const retryAfter = Number(response.headers["retry-after"]);
    assert.ok(Number.isInteger(retryAfter) && retryAfter > 0, "Retry-After in seconds");
    const body = JSON.parse(response.body);
    assert.deepEqual(
      { ...body, message: typeof body.message },
      {
        error: "server-at-capacity",
        message: "string",
        code: "server-at-capacity",
        retryable: true,
        retry_after: retryAfter,
        ...("suggested_action" in body ? { suggested_action: body.suggested_action } : {}),
      },
    );
    assert.ok(body.message.length > 0);
    assert.deepEqual(Object.keys(body).slice(0, 5), [
      "error",
      "message",
      "code",
      "retryable",
      "retry_after",
    ]);
    assert.equal(server.telemetry.count("ws.handshakeRejected", "server-at-capacity"), 1);
  });

  await t.step("a WebSocket client sees the connection fail", async () => {
    const refused = new TestClient(server.wsUrl);
    await using _refused = refused;
    await assert.rejects(refused.opened);
    assert.equal(server.app.ws.clientCount, 2);
  });

  await t.step("existing clients are unaffected", async () => {
    second.send({ type: "subscribe", view: LIST });
    await barrier(second);
    await server.source.emit(transfer("mintA", 1));
    await second.waitFor((f) => opsFor(f, LIST, "patch").length === 1);
  });

  await t.step("after one client leaves, a new one is accepted", async () => {
    await first[Symbol.asyncDispose]();
    await until(() => server.app.ws.clientCount === 1, "the server to see the client leave");
    await using third = await TestClient.connect(server.wsUrl);
    third.send({ type: "subscribe", view: LIST });
    await third.waitFor((f) => f.some((x) => x.json.op === "snapshot"));
    assert.equal(server.app.ws.clientCount, 2);
  });
});

Deno.test("idle timeout: a silent client is closed with 1000, a pinging one stays", async () => {
  const clock = new FakeClock(Date.now());
  await using server = await startTestServer({ clock, env: { PHAROS_IDLE_TIMEOUT_MS: "1000" } });
  await using silent = await TestClient.connect(server.wsUrl);
  await using pinger = await TestClient.connect(server.wsUrl);
  // The silent client subscribes once, then only receives: server frames are not activity.
  silent.send({ type: "subscribe", view: LIST });
  await silent.waitFor((f) => f.some((x) => x.json.op === "subscribed"));
  await server.source.emit(transfer("mintA", 1));
  await silent.waitFor((f) => opsFor(f, LIST, "patch").length > 0, 5000, "a live patch");
  const received = () => server.telemetry.count("ws.messageReceived");
  const open = () => [...server.app.ws.sessions()].filter((session) => !session.closed).length;
  /** The pinger pings, the server has read it, then the clock moves one idle sweep (250 ms). */
  async function pingThenSweep(): Promise<void> {
    const before = received();
    pinger.send({ type: "ping" });
    await until(() => received() > before, "the server to read the ping");
    clock.advance(250);
  }

  for (let i = 0; i < 4; i++) await pingThenSweep();
  assert.equal(open(), 2, "silent for exactly the timeout (1000 ms): not closed yet");
  await pingThenSweep();
  const close = await closedWithin(silent, 5000);
  assert.equal(close.code, 1000);
  assert.match(close.reason, /^idle-timeout/);

  // Twice the timeout again, pinging: the pinger stays.
  for (let i = 0; i < 8; i++) await pingThenSweep();
  assert.equal(open(), 1);
  assert.equal(pinger.socket.readyState, WebSocket.OPEN, "the pinging client is still open");
  pinger.send({ type: "subscribe", view: LIST });
  await pinger.waitFor((f) => f.some((x) => x.json.op === "subscribed"));
  assert.equal(server.app.ws.clientCount, 1);
});

Deno.test("subscription limit: an error frame beyond it, and the socket stays open", async (t) => {
  await using server = await startTestServer({ env: { PHAROS_MAX_SUBSCRIPTIONS: "2" } });
  await server.source.emit(transfer("mintA", 1));
  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: LIST });
  client.send({ type: "subscribe", view: LATEST });
  await barrier(client);

  await t.step("the third subscribe gets a text error frame, fatal false", async () => {
    client.send({ type: "subscribe", view: STATE, key: "mintA" });
    await barrier(client);
    const errors = client.frames.filter((f) => f.json.type === "error");
    assert.equal(errors.length, 1);
    const [error] = errors;
    assert.equal(error!.binary, false, "a text frame");
    assert.equal(error!.json.error, "subscription-limit-exceeded");
    assert.equal(error!.json.code, "subscription-limit-exceeded");
    assert.equal(error!.json.fatal, false);
    assert.equal(typeof error!.json.retryable, "boolean");
    assert.equal(typeof error!.json.message, "string");
    assert.deepEqual(framesFor(client.frames, STATE), [], "no ack for the refused view");
  });

  await t.step("a duplicate of an existing subscription is not refused", async () => {
    client.send({ type: "subscribe", view: LIST });
    await barrier(client);
    assert.equal(client.frames.filter((f) => f.json.type === "error").length, 1);
  });

  await t.step("the socket stays open and its subscriptions stay live", async () => {
    await server.source.emit(transfer("mintA", 2));
    await barrier(client);
    assert.equal(client.socket.readyState, WebSocket.OPEN);
    assert.equal(opsFor(client.frames, LIST, "patch").length, 1);
    assert.equal(opsFor(client.frames, LATEST, "upsert").length, 1);
    assert.deepEqual(framesFor(client.frames, STATE), []);
  });

  await t.step("after an unsubscribe there is room again", async () => {
    client.send({ type: "unsubscribe", view: LATEST });
    client.send({ type: "subscribe", view: STATE, key: "mintA" });
    await barrier(client);
    assert.deepEqual(framesFor(client.frames, STATE).map((f) => f.json.op), [
      "subscribed",
      "snapshot",
    ]);
  });
});
