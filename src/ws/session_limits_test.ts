import { connectSession } from "../../tests/fakes/test_session.ts";
import assert from "node:assert/strict";
import { MemoryTransport } from "../../tests/fakes/memory_transport.ts";
import { createTestProjector } from "../../tests/fakes/test_projector.ts";
import { defineStack, toSeq } from "../stack/mod.ts";
import type { Admitted, SessionLimits } from "./mod.ts";

const stack = defineStack({ name: "test", entities: { Token: { handlers: {} } } });

function setup(limits: Partial<SessionLimits> = {}, auth?: Admitted) {
  const fixture = createTestProjector(stack);
  const { clock, telemetry, projector } = fixture;
  const { transport, session } = connectSession(fixture, {
    id: "c1",
    limits,
    ...(auth === undefined ? {} : { auth }),
  });
  let slot = 0;
  const publish = (keys: string[]) => {
    projector.apply(keys.map((key) => {
      const seq = toSeq(++slot, 0);
      return { entity: "Token", key, patch: { slot, _seq: seq }, append: [], seq };
    }));
  };
  const send = (message: Record<string, unknown>) => session.receive(JSON.stringify(message));
  const texts = () =>
    transport.sent.filter((m) => typeof m === "string").map((m) => JSON.parse(m as string));
  return { clock, telemetry, transport, session, publish, send, texts };
}

const closedWith = (transport: MemoryTransport) => transport.closedWith;

Deno.test("more messages per minute than allowed: fatal rate-limit-exceeded, close 1008", () => {
  const { clock, transport, send, texts, telemetry } = setup({ maxMessagesPerMinute: 3 });
  for (let i = 0; i < 3; i++) send({ type: "ping" });
  assert.equal(closedWith(transport), undefined);
  clock.busy(60_000); // a new minute
  for (let i = 0; i < 3; i++) send({ type: "ping" });
  assert.equal(closedWith(transport), undefined, "the window starts over");
  send({ type: "ping" });
  const error = texts().find((frame) => frame.type === "error");
  assert.equal(error?.code, "rate-limit-exceeded");
  assert.equal(error?.fatal, true);
  assert.equal(closedWith(transport)?.code, 1008);
  assert.equal(telemetry.count("ws.limitExceeded", "messages-per-minute"), 1);
});

Deno.test("more bytes per minute than allowed: fatal rate-limit-exceeded", () => {
  const { transport, send, publish, texts } = setup({ maxBytesPerMinute: 2_000 });
  send({ type: "subscribe", view: "Token/list", withSnapshot: false });
  publish(["a", "b", "c"]);
  assert.equal(closedWith(transport), undefined);
  publish(Array.from({ length: 40 }, (_, i) => `k${i}`));
  const errors = texts().filter((frame) => frame.type === "error");
  assert.deepEqual(errors.map((frame) => frame.code), ["rate-limit-exceeded"], "one error frame");
  assert.equal(closedWith(transport)?.code, 1008);
  assert.ok(transport.sent.length < 40, "sending stopped at the limit");
});

Deno.test("a snapshot sends at most maxSnapshotRows entities", async () => {
  const { send, publish, transport, telemetry, session } = setup({ maxSnapshotRows: 5 });
  publish(Array.from({ length: 12 }, (_, i) => `k${i}`));
  send({ type: "subscribe", view: "Token/list" });
  await session.compressed();
  const frames = await transport.frames();
  const rows = frames.filter((f) => f.json.op === "snapshot")
    .flatMap((f) => f.json.data as unknown[]);
  assert.equal(rows.length, 5);
  assert.equal(telemetry.count("ws.limitExceeded", "snapshot-rows"), 1);
});

Deno.test("expired credentials end the session with token-expired; refresh_auth extends them", async () => {
  let refreshes = 0;
  const { clock, transport, send, texts } = setup({}, {
    kind: "admitted",
    subject: "alice",
    expiresAt: Math.floor(Date.UTC(2026, 0, 1) / 1000) + 60,
    refresh: (token) => {
      refreshes++;
      if (token !== "good") {
        return Promise.reject(Object.assign(new Error("bad"), { code: "token-invalid-signature" }));
      }
      return Promise.resolve({ expiresAt: Math.floor(clock.now() / 1000) + 120 });
    },
  });
  send({ type: "refresh_auth", token: "bad" });
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual(texts().at(-1), { success: false, error: "token-invalid-signature" });
  clock.advance(30_000);
  send({ type: "refresh_auth", token: "good" });
  await Promise.resolve();
  await Promise.resolve();
  const reply = texts().at(-1);
  assert.equal(reply.success, true);
  assert.equal(reply.expiresAt, Math.floor(Date.UTC(2026, 0, 1) / 1000) + 150);
  assert.equal(refreshes, 2);
  clock.advance(60_000); // past the first expiry: still open
  assert.equal(closedWith(transport), undefined);
  clock.advance(60_000); // past the refreshed one
  const error = texts().find((frame) => frame.type === "error");
  assert.equal(error?.code, "token-expired");
  assert.equal(error?.fatal, true);
  assert.equal(closedWith(transport)?.code, 1008);
});

Deno.test("refresh_auth without refreshable credentials answers token-invalid", () => {
  const { send, texts, transport } = setup();
  send({ type: "refresh_auth", token: "anything" });
  assert.deepEqual(texts().at(-1), { success: false, error: "token-invalid" });
  assert.equal(closedWith(transport), undefined);
});
