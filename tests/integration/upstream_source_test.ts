/**
 * The upstream source against a real upstream: a WebSocket feed on loopback
 * (tests/fakes/upstream_feed.ts). Timing, backoff and resume on a fake clock and a scripted
 * socket are the unit tests beside the source (src/sources/upstream/upstream_source_test.ts).
 */
import assert from "node:assert/strict";
import { CloseCode } from "../../src/protocol/mod.ts";
import { getLogger } from "../../src/log/mod.ts";
import {
  createUpstreamSource,
  type UpstreamSource,
  type UpstreamSourceOptions,
} from "../../src/sources/mod.ts";
import { systemClock } from "../../src/util/mod.ts";
import { recordLogs } from "../fakes/recording_log.ts";
import { UpstreamFeed } from "../fakes/upstream_feed.ts";
import { createRecorder, event, positions } from "../fakes/upstream_recorder.ts";
import { nextTurn, until } from "../wait.ts";

const log = getLogger(["pharos", "sources", "upstream"]);

function realSource(url: string, options: Partial<UpstreamSourceOptions> = {}): UpstreamSource {
  return createUpstreamSource({
    url,
    clock: systemClock,
    log,
    backoff: { initialMs: 20, maxMs: 100 },
    ...options,
  });
}

Deno.test("upstream source against a real upstream", async (t) => {
  await t.step("delivers single events and arrays in order, text and binary", async () => {
    await using feed = new UpstreamFeed();
    const recorder = createRecorder();
    const source = realSource(feed.url);
    await source.start(recorder.context);
    await until(() => feed.sockets.size === 1, "the connection");
    await until(() => recorder.kinds().includes("connected"), "connected");

    feed.send(JSON.stringify(event(1, 0)));
    feed.send(JSON.stringify([event(1, 1), event(1, 2), event(2)]));
    feed.send(new TextEncoder().encode(JSON.stringify([event(2), event(undefined)])));
    feed.send(JSON.stringify(event(3, 5)));
    await until(() => recorder.delivered.length === 7, "seven events");
    assert.deepEqual(positions(recorder.delivered), [
      "1:0",
      "1:1",
      "1:2",
      "2:0",
      "2:1",
      "-/undefined/undefined",
      "3:5",
    ]);
    assert.equal(source.cursor(), "3:000000000005");
    await source.stop();
    assert.deepEqual(recorder.kinds(), ["reconnecting", "connected", "disconnected"]);
  });

  await t.step("skips invalid events (counted, logged without payload) and goes on", async () => {
    await using logs = await recordLogs(["pharos", "sources", "upstream"]);
    await using feed = new UpstreamFeed();
    const recorder = createRecorder();
    const source = realSource(feed.url, { token: "tok-SECRET-1234" });
    await source.start(recorder.context);
    await until(() => feed.sockets.size === 1, "the connection");

    feed.send("PAYLOAD-MARKER {not json");
    feed.send(JSON.stringify([
      event(1, 0, "A"),
      { type: "", data: { secret: "PAYLOAD-MARKER" } },
      5,
      event(1, 1, "B"),
    ]));
    feed.send(JSON.stringify({ data: { secret: "PAYLOAD-MARKER" } }));
    feed.send(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));
    feed.send(JSON.stringify(event(1, 2, "C")));
    await until(() => recorder.delivered.length === 3, "the valid events");

    assert.deepEqual(recorder.delivered.map((e) => e.type), ["A", "B", "C"]);
    assert.equal(source.invalidEvents, 5);
    const warnings = logs.at("warning");
    assert.equal(warnings.length, 5);
    assert.match(String(warnings[1]?.properties.reason), /field "type"/);
    const logged = logs.text();
    assert.doesNotMatch(logged, /PAYLOAD-MARKER/);
    assert.doesNotMatch(logged, /SECRET/, "the token is never logged");
    assert.match(logged, /connecting to /);
    await source.stop();
  });

  await t.step(
    "sends the token and the subscribe message, cursor field dropped at first",
    async () => {
      await using feed = new UpstreamFeed();
      const recorder = createRecorder();
      const source = realSource(feed.url, {
        token: "s3cret",
        headers: { "X-Client": "pharos", authorization: "replaced by the token" },
        subscribe: JSON.stringify({
          type: "subscribe",
          from: "{{cursor}}",
          filter: { since: "{{cursor}}", types: ["Tick", "{{cursor}}"] },
        }),
      });
      await source.start(recorder.context);
      await until(() => feed.subscribes.length === 1, "the subscribe message");

      assert.equal(feed.requests[0]?.get("authorization"), "Bearer s3cret");
      assert.equal(feed.requests[0]?.get("x-client"), "pharos");
      assert.deepEqual(feed.subscribes[0], { type: "subscribe", filter: { types: ["Tick"] } });
      await source.stop();
    },
  );

  await t.step(
    "survives the upstream dying, reconnects on the same port and resumes from the cursor",
    async () => {
      await using feed = new UpstreamFeed();
      const port = feed.port;
      const recorder = createRecorder();
      const source = realSource(feed.url, {
        subscribe: JSON.stringify({ type: "subscribe", from: "{{cursor}}" }),
      });
      await source.start(recorder.context);
      await until(() => feed.subscribes.length === 1, "the first subscribe");
      assert.deepEqual(feed.subscribes[0], { type: "subscribe" });

      feed.publish(event(1, 0), event(1, 1), event(1, 2));
      await until(() => recorder.delivered.length === 3, "the first three events");
      assert.equal(source.cursor(), "1:000000000002");

      await feed.kill();
      await until(() => recorder.kinds().at(-1) === "reconnecting", "reconnecting");
      assert.ok(
        recorder.statuses.some(([status, message]) =>
          status === "reconnecting" && message === "connection closed (1001: Server shutting down)"
        ),
      );
      // Let a few attempts fail against the closed port.
      await until(
        () =>
          recorder.statuses.some(([s, m]) =>
            s === "reconnecting" && /cannot connect/.test(m ?? "")
          ),
        "a failed attempt",
      );

      // The upstream comes back on the same port with what it got meanwhile.
      feed.log.push(event(1, 3), event(2, 0));
      const before = feed.subscribes.length;
      feed.revive();
      assert.equal(feed.port, port);
      await until(() => feed.subscribes.length === before + 1, "the resubscription");
      assert.deepEqual(feed.subscribes[before], { type: "subscribe", from: "1:000000000002" });
      await until(() => recorder.kinds().at(-1) === "connected", "connected again");
      feed.publish(event(2, 1));
      await until(() => recorder.delivered.length === 6, "the resumed stream");

      // Replayed from 1:2 inclusive: 1:2 is dropped, nothing is missing or repeated.
      assert.deepEqual(positions(recorder.delivered), ["1:0", "1:1", "1:2", "1:3", "2:0", "2:1"]);
      assert.equal(source.duplicateEvents, 1);
      assert.equal(source.cursor(), "2:000000000001");
      await source.stop();
      assert.equal(recorder.kinds().at(-1), "disconnected");
      assert.equal(feed.closeCodes.at(-1), CloseCode.Normal);
    },
  );

  await t.step(
    "stop() waits for the sink in flight and nothing is delivered after it",
    async () => {
      await using feed = new UpstreamFeed();
      const recorder = createRecorder();
      const source = realSource(feed.url);
      await source.start(recorder.context);
      await until(() => feed.sockets.size === 1, "the connection");
      recorder.hold();
      feed.send(JSON.stringify([event(1, 0), event(1, 1), event(1, 2)]));
      await until(() => recorder.sinkCalls.length === 1, "the first sink call");

      let stopped = false;
      const stopping = source.stop().then(() => stopped = true);
      await until(() => feed.sockets.size === 0, "the upstream to see the close");
      await nextTurn();
      assert.equal(stopped, false, "stop() waits for the event in flight");
      recorder.release();
      await stopping;
      assert.equal(recorder.sinkCalls.length, 1);
      await nextTurn(); // the delivery loop had its events queued: it must not go on
      assert.equal(recorder.sinkCalls.length, 1, "no sink call after stop()");
      assert.equal(source.cursor(), "1:000000000000");
      assert.deepEqual(feed.closeCodes, [1000]);
    },
  );

  await t.step("stop() while still connecting, and while backing off, leaks nothing", async () => {
    await using feed = new UpstreamFeed();
    const recorder = createRecorder();
    const source = realSource(feed.url);
    await source.start(recorder.context);
    await source.stop();
    assert.deepEqual(recorder.kinds(), ["reconnecting", "disconnected"]);

    await feed.kill();
    await source.start(recorder.context);
    await until(() => recorder.statuses.length === 4, "a failed attempt");
    await source.stop();
    assert.equal(recorder.kinds().at(-1), "disconnected");
    assert.equal(recorder.delivered.length, 0);
  });

  await t.step("start() after stop() resumes from cursor()", async () => {
    await using feed = new UpstreamFeed();
    const recorder = createRecorder();
    const source = realSource(feed.url, {
      subscribe: JSON.stringify({ type: "subscribe", from: "{{cursor}}" }),
    });
    await source.start(recorder.context);
    await until(() => feed.subscribes.length === 1, "the subscribe");
    feed.publish(event(4, 0), event(4, 1));
    await until(() => recorder.delivered.length === 2, "two events");
    await source.stop();

    feed.log.push(event(4, 2));
    await source.start(recorder.context);
    await until(() => recorder.delivered.length === 3, "the event published while stopped");
    assert.deepEqual(feed.subscribes[1], { type: "subscribe", from: "4:000000000001" });
    assert.deepEqual(positions(recorder.delivered), ["4:0", "4:1", "4:2"]);
    await source.stop();
    assert.deepEqual(recorder.kinds(), [
      "reconnecting",
      "connected",
      "disconnected",
      "reconnecting",
      "connected",
      "disconnected",
    ]);
  });

  await t.step("a queue over its bound closes with 4008 and resumes losslessly", async () => {
    await using feed = new UpstreamFeed();
    const recorder = createRecorder();
    const source = realSource(feed.url, {
      maxQueuedEvents: 5,
      subscribe: JSON.stringify({ type: "subscribe", from: "{{cursor}}" }),
    });
    await source.start(recorder.context);
    await until(() => feed.subscribes.length === 1, "the subscribe");
    recorder.hold();
    feed.publish(event(7, 0), event(7, 1), event(7, 2));
    await until(() => recorder.sinkCalls.length === 1, "the first sink call");
    // Two wait behind the one in flight; four more make six, over the bound of five.
    feed.log.push(event(7, 3), event(7, 4), event(7, 5), event(7, 6));
    feed.send(JSON.stringify(feed.log.slice(3)));
    await until(() => feed.closeCodes.includes(CloseCode.UpstreamOverflow), "the 4008 close");
    // Nothing was delivered yet, so the upstream replays all seven in one message: taken
    // whole into the emptied queue (refusing it would refuse every replay).
    await until(() => feed.subscribes.length === 2, "the resubscription");
    assert.deepEqual(feed.subscribes[1], { type: "subscribe" });
    await nextTurn();
    assert.equal(feed.closeCodes.length, 1, "the replay is not refused");
    recorder.release();
    await until(() => recorder.delivered.length === 7, "every event");
    assert.deepEqual(
      positions(recorder.delivered),
      ["7:0", "7:1", "7:2", "7:3", "7:4", "7:5", "7:6"],
    );
    assert.equal(source.duplicateEvents, 1, "7:0 was in flight when the replay came");
    await source.stop();
  });
});
