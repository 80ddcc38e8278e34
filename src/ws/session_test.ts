import { connectSession } from "../../tests/fakes/test_session.ts";
import { createTestProjector } from "../../tests/fakes/test_projector.ts";
import assert from "node:assert/strict";
import { defineStack, toSeq } from "../stack/mod.ts";
import type { SessionLimits } from "./mod.ts";
import { until } from "../../tests/wait.ts";
import { recordLogs } from "../../tests/fakes/recording_log.ts";

const stack = defineStack({
  name: "test",
  entities: {
    Token: { handlers: {}, views: { latest: { sortBy: "slot", order: "desc", take: 2 } } },
  },
});

function setup(limits: Partial<SessionLimits> = {}) {
  const fixture = createTestProjector(stack);
  const { clock, telemetry, bus, projector } = fixture;
  const { transport, session } = connectSession(fixture, { id: "client-1", limits });
  /** Applies a change to `key` (with `_seq` at `slot`) and publishes its frames now. */
  const publish = (key: string, slot: number, extra: Record<string, unknown> = {}) => {
    const seq = toSeq(slot, 0);
    projector.apply([{
      entity: "Token",
      key,
      patch: { slot, ...extra, _seq: seq },
      append: [],
      seq,
    }]);
  };
  const send = (message: unknown) => session.receive(JSON.stringify(message));
  /** Lets snapshot compression finish and the queue empty. */
  const settle = async () => {
    await session.compressed();
    await until(() => session.queuedFrames === 0, "the session queue to empty");
  };
  const frames = async () => (await transport.frames()).map((f) => f.json);
  return { clock, telemetry, bus, projector, transport, session, publish, send, settle, frames };
}

Deno.test("session subscriptions", async (t) => {
  await t.step("the subscribed frame comes first, binary, with the list sort", async () => {
    const { send, transport, settle } = setup();
    send({ type: "subscribe", view: "Token/list" });
    await settle();
    const [frame, ...rest] = await transport.frames();
    assert.equal(rest.length, 0, "no data, no snapshot frame");
    assert.equal(frame?.binary, true);
    assert.equal(
      new TextDecoder().decode(frame?.bytes),
      '{"op":"subscribed","view":"Token/list","mode":"list","sort":{"field":["_seq"],"order":"desc"}}',
    );
  });

  await t.step("state views announce no sort; derived views their own", async () => {
    const { send, frames, settle } = setup();
    send({ type: "subscribe", view: "Token/state", key: "a" });
    send({ type: "subscribe", view: "Token/latest" });
    await settle();
    assert.deepEqual(await frames(), [
      { op: "subscribed", view: "Token/state", mode: "state" },
      {
        op: "subscribed",
        view: "Token/latest",
        mode: "list",
        sort: { field: ["slot"], order: "desc" },
      },
    ]);
  });

  await t.step("a snapshot of the cache, then live patches", async () => {
    const { send, publish, frames, settle, telemetry } = setup();
    publish("a", 1);
    publish("b", 2);
    send({ type: "subscribe", view: "Token/list" });
    await settle();
    publish("a", 3);
    const got = await frames();
    assert.deepEqual(got.map((f) => f.op), ["subscribed", "snapshot", "patch"]);
    assert.deepEqual(got[1], {
      mode: "list",
      entity: "Token/list",
      op: "snapshot",
      data: [
        { key: "b", data: { slot: 2, _seq: "2:000000000000" } },
        { key: "a", data: { slot: 1, _seq: "1:000000000000" } },
      ],
      complete: true,
    });
    assert.equal(got[2]?.key, "a");
    assert.equal(got[2]?.seq, "3:000000000000");
    assert.equal(telemetry.count("ws.subscriptionCreated", "Token/list"), 1);
    assert.equal(telemetry.count("ws.framesSent"), 3);
  });

  await t.step("withSnapshot:false sends only subscribed, then live frames", async () => {
    const { send, publish, frames, settle } = setup();
    publish("a", 1);
    send({ type: "subscribe", view: "Token/list", withSnapshot: false });
    publish("a", 2);
    await settle();
    assert.deepEqual((await frames()).map((f) => f.op), ["subscribed", "patch"]);
  });

  await t.step("snapshot queries pass through: after and snapshotLimit", async () => {
    const { send, publish, frames, settle } = setup();
    publish("a", 9);
    publish("b", 10);
    publish("c", 2);
    send({ type: "subscribe", view: "Token/list", after: toSeq(2, 0), snapshotLimit: 1 });
    await settle();
    const snapshot = (await frames())[1];
    assert.deepEqual((snapshot?.data as { key: string }[]).map((e) => e.key), ["a"]);
  });

  await t.step("a key filter delivers only that key; a state view every patch of it", async () => {
    const { send, publish, frames, settle } = setup();
    send({ type: "subscribe", view: "Token/list", key: "a" });
    send({ type: "subscribe", view: "Token/state", key: "a" });
    publish("b", 1);
    publish("a", 2, { x: 1 });
    publish("a", 3, { y: 1 });
    await settle();
    const patches = (await frames()).filter((f) => f.op === "patch");
    assert.deepEqual(patches.map((f) => `${f.entity} ${f.key} ${f.seq}`), [
      "Token/list a 2:000000000000",
      "Token/state a 2:000000000000",
      "Token/list a 3:000000000000",
      "Token/state a 3:000000000000",
    ]);
  });

  await t.step("a duplicate subscribe sends nothing and the stream keeps running", async () => {
    const { send, publish, frames, settle, session } = setup();
    send({ type: "subscribe", view: "Token/list" });
    send({ type: "subscribe", view: "Token/list", take: 5 });
    await settle();
    assert.equal((await frames()).length, 1);
    publish("a", 1);
    assert.deepEqual((await frames()).map((f) => f.op), ["subscribed", "patch"]);
    assert.equal(session.subscriptionCount, 1);
  });

  await t.step(
    "the all-keys subscription and a key named '*' are different subscriptions",
    async () => {
      const { send, publish, frames, settle, session } = setup();
      send({ type: "subscribe", view: "Token/list" });
      send({ type: "subscribe", view: "Token/list", key: "*" });
      await settle();
      assert.equal(session.subscriptionCount, 2);
      send({ type: "unsubscribe", view: "Token/list", key: "*" });
      publish("a", 1);
      assert.deepEqual((await frames()).map((f) => f.op), ["subscribed", "subscribed", "patch"]);
    },
  );

  await t.step("unsubscribe stops the frames of that subscription only", async () => {
    const { send, publish, frames, settle, bus, telemetry, session } = setup();
    send({ type: "subscribe", view: "Token/list" });
    send({ type: "subscribe", view: "Token/state", key: "a" });
    send({ type: "unsubscribe", view: "Token/list" });
    send({ type: "unsubscribe", view: "Token/list" }); // unknown by now: ignored
    publish("a", 1);
    await settle();
    assert.deepEqual((await frames()).map((f) => `${f.op} ${f.entity ?? f.view}`), [
      "subscribed Token/list",
      "subscribed Token/state",
      "patch Token/state",
    ]);
    assert.equal(bus.hasSubscribers("Token/list"), false);
    assert.equal(session.subscriptionCount, 1);
    assert.equal(telemetry.count("ws.subscriptionRemoved", "Token/list"), 1);
  });

  await t.step("an unknown view sends nothing at all and is counted", () => {
    const { send, transport, telemetry, session } = setup();
    send({ type: "subscribe", view: "Nope/list" });
    assert.equal(transport.sent.length, 0);
    assert.equal(telemetry.count("ws.unknownView"), 1);
    assert.equal(session.subscriptionCount, 0);
    assert.equal(transport.closedWith, undefined);
  });

  await t.step(
    "a state view without key gets a text error frame; the socket stays open",
    async () => {
      const { send, transport, session } = setup();
      send({ type: "subscribe", view: "Token/state" });
      const [frame] = await transport.frames();
      assert.equal(frame?.binary, false);
      assert.deepEqual(frame?.json, {
        type: "error",
        error: "invalid-subscription",
        message: "Token/state needs a key",
        code: "invalid-subscription",
        retryable: false,
        fatal: false,
      });
      assert.equal(transport.closedWith, undefined);
      assert.equal(session.closed, false);
    },
  );

  await t.step("beyond the subscription limit: a non-fatal error frame, still open", async () => {
    const { send, publish, transport, session, settle } = setup({ maxSubscriptions: 2 });
    send({ type: "subscribe", view: "Token/list" });
    send({ type: "subscribe", view: "Token/append" });
    send({ type: "subscribe", view: "Token/state", key: "a" });
    await settle();
    const frames = await transport.frames();
    assert.equal(frames.length, 3);
    assert.equal(frames[2]?.binary, false);
    assert.equal(frames[2]?.json.code, "subscription-limit-exceeded");
    assert.equal(frames[2]?.json.fatal, false);
    assert.equal(transport.closedWith, undefined);
    assert.equal(session.subscriptionCount, 2);
    publish("a", 1);
    assert.equal((await transport.frames()).filter((f) => f.json.op === "patch").length, 2);
  });

  await t.step(
    "a derived view: window snapshot, then delete/upsert; unsubscribe closes it",
    async () => {
      const { send, publish, frames, settle, bus } = setup();
      publish("a", 1);
      publish("b", 2);
      publish("c", 3);
      send({ type: "subscribe", view: "Token/latest" });
      await settle();
      publish("d", 4);
      const got = await frames();
      assert.deepEqual((got[1]?.data as { key: string }[]).map((e) => e.key), ["c", "b"]);
      assert.deepEqual(got.slice(2).map((f) => `${f.op} ${f.key}`), ["delete b", "upsert d"]);
      send({ type: "unsubscribe", view: "Token/latest" });
      assert.equal(bus.topicCount, 0);
    },
  );

  await t.step("a derived view honours take and skip from the subscription", async () => {
    const { send, publish, frames, settle } = setup();
    for (const [key, slot] of [["a", 1], ["b", 2], ["c", 3], ["d", 4]] as const) publish(key, slot);
    send({ type: "subscribe", view: "Token/latest", skip: 1, take: 3 });
    await settle();
    assert.deepEqual(((await frames())[1]?.data as { key: string }[]).map((e) => e.key), [
      "c",
      "b",
      "a",
    ]);
  });
});

Deno.test("session input handling", async (t) => {
  await t.step("a message over maxMessageBytes closes with 1009", () => {
    const { session, transport, telemetry } = setup({ maxMessageBytes: 256 });
    session.receive(
      JSON.stringify({ type: "subscribe", view: "Token/list", pad: "x".repeat(300) }),
    );
    assert.equal(transport.closedWith?.code, 1009);
    assert.match(transport.closedWith?.reason ?? "", /^message-too-big/);
    assert.equal(session.closed, true);
    assert.equal(telemetry.count("ws.connectionError", "message-too-big"), 1);
  });

  await t.step("the limit counts UTF-8 bytes, not characters", () => {
    const { session, transport } = setup({ maxMessageBytes: 256 });
    // 100 characters, 300 bytes.
    session.receive(JSON.stringify({ type: "ping", pad: "€".repeat(100) }));
    assert.equal(transport.closedWith?.code, 1009);
  });

  await t.step("a message at the limit is accepted", () => {
    const { session, transport } = setup({ maxMessageBytes: 256 });
    const base = '{"type":"ping","pad":""}';
    session.receive(base.replace('""', `"${"x".repeat(256 - base.length)}"`));
    assert.equal(transport.closedWith, undefined);
  });

  await t.step("binary messages are ignored and counted; the socket stays open", async () => {
    const { session, transport, telemetry, send, settle } = setup();
    session.receive(new TextEncoder().encode('{"type":"subscribe","view":"Token/list"}'));
    assert.equal(transport.sent.length, 0);
    assert.equal(telemetry.count("ws.connectionError", "binary-message"), 1);
    assert.equal(transport.closedWith, undefined);
    send({ type: "subscribe", view: "Token/list" });
    await settle();
    assert.equal(transport.sent.length, 1);
  });

  await t.step("malformed JSON and wrong field types are ignored and counted", () => {
    const { session, transport, telemetry } = setup();
    session.receive("{nope");
    session.receive('{"type":"subscribe","view":7}');
    assert.equal(telemetry.count("ws.connectionError", "invalid-json"), 1);
    assert.equal(telemetry.count("ws.connectionError", "invalid-field"), 1);
    assert.equal(transport.sent.length, 0);
    assert.equal(transport.closedWith, undefined);
    assert.equal(session.closed, false);
  });

  await t.step("every message, ping included, refreshes lastSeen", () => {
    const { session, clock, send } = setup();
    assert.equal(session.lastSeen, 0);
    clock.advance(1500);
    send({ type: "ping" });
    assert.equal(session.lastSeen, 1500);
  });

  await t.step("refresh_auth is answered with a text failure while auth is off", async () => {
    const { send, transport } = setup();
    send({ type: "refresh_auth", token: "t" });
    const [frame] = await transport.frames();
    assert.equal(frame?.binary, false);
    assert.equal(
      new TextDecoder().decode(frame?.bytes),
      '{"success":false,"error":"token-invalid"}',
    );
  });

  await t.step("a fatal error frame is sent, then the socket closes with 1008", async () => {
    const { session, transport } = setup();
    session.sendError({
      code: "token-expired",
      message: "Token expired",
      retryable: true,
      fatal: true,
    });
    const [frame] = await transport.frames();
    assert.equal(frame?.json.code, "token-expired");
    assert.deepEqual(transport.closedWith, { code: 1008, reason: "token-expired: Token expired" });
  });

  await t.step("close ends every subscription and ignores later input", () => {
    const { session, send, transport, bus, telemetry } = setup();
    send({ type: "subscribe", view: "Token/list" });
    session.close(1000, "bye");
    session.close(1001, "again");
    assert.deepEqual(transport.closedWith, { code: 1000, reason: "bye" });
    assert.equal(bus.topicCount, 0);
    assert.equal(session.subscriptionCount, 0);
    assert.equal(telemetry.count("ws.subscriptionRemoved", "Token/list"), 1);
    send({ type: "subscribe", view: "Token/list" });
    assert.equal(transport.sent.length, 1);
  });
});

Deno.test("session credentials and revocation", async (t) => {
  /** A session admitted with `auth`, whose refresh gives the next token id of `ids`. */
  function admitted(
    auth: { subject?: string; tokenId?: string },
    ids: (string | undefined)[] = [],
  ) {
    const fixture = createTestProjector(stack);
    return connectSession(fixture, {
      id: "client-9",
      auth: {
        kind: "admitted",
        ...auth,
        refresh: () => {
          const tokenId = ids.shift();
          return Promise.resolve({
            expiresAt: undefined,
            ...(tokenId === undefined ? {} : { tokenId }),
          });
        },
      },
    });
  }

  await t.step("the session knows its subject and its token's id", () => {
    const { session } = admitted({ subject: "alice", tokenId: "t-1" });
    assert.equal(session.subject, "alice");
    assert.equal(session.tokenId, "t-1");
    const anonymous = admitted({}).session;
    assert.equal(anonymous.subject, undefined);
    assert.equal(anonymous.tokenId, undefined);
  });

  await t.step("refresh_auth moves the token id to the new token's (none: none)", async () => {
    const { session, transport } = admitted({ subject: "alice", tokenId: "t-1" }, ["t-2"]);
    const replies = async () =>
      (await transport.frames()).filter((f) => !f.binary && "success" in f.json).length;
    session.receive(JSON.stringify({ type: "refresh_auth", token: "fresh" }));
    await until(async () => await replies() === 1, "the refresh_auth reply");
    assert.equal(session.tokenId, "t-2");
    session.receive(JSON.stringify({ type: "refresh_auth", token: "fresh-without-jti" }));
    await until(async () => await replies() === 2, "the second reply");
    assert.equal(session.tokenId, undefined, "a new token without jti has no id");
  });

  await t.step("revoke: the fatal token-revoked frame, then 1008 'token revoked'", async () => {
    await using logs = await recordLogs(["pharos", "test"], "info");
    const { session, transport } = admitted({ subject: "alice", tokenId: "t-1" });
    session.revoke();
    const [frame, ...rest] = await transport.frames();
    assert.deepEqual(rest, []);
    assert.deepEqual(frame?.json, {
      type: "error",
      error: "token-revoked",
      message: "The session's token was revoked; reconnect with a new token",
      code: "token-revoked",
      retryable: true,
      fatal: true,
    });
    assert.deepEqual(transport.closedWith, { code: 1008, reason: "token revoked" });
    assert.equal(session.closed, true);
    const revoked = logs.at("info").find((r) => String(r.message.join("")).includes("revoked"));
    assert.deepEqual(revoked?.properties, { client_id: "client-9", subject: "alice" });
    session.revoke(); // once closing, nothing more
    assert.equal((await transport.frames()).length, 1);
  });
});
