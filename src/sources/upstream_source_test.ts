import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { recordLogs } from "../../tests/fakes/recording_log.ts";
import { UpstreamFeed } from "../../tests/fakes/upstream_feed.ts";
import { getLogger } from "../log/mod.ts";
import type { PharosEvent } from "../stack/mod.ts";
import { systemClock } from "../util/mod.ts";
import type { SourceContext, SourceStatus } from "./mod.ts";
import {
  createUpstreamSource,
  UpstreamCloseCode,
  type UpstreamSource,
  type UpstreamSourceOptions,
} from "./upstream_source.ts";

const log = getLogger(["pharos", "sources", "upstream"]);

/** Lets pending socket events and the delivery loop run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Polls `predicate` until it holds, or fails after `timeoutMs` (real time). */
async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function event(slot: number | undefined, index?: number, type = "Tick"): PharosEvent {
  return {
    type,
    data: { n: `${slot}/${index}` },
    ...(slot === undefined ? {} : { slot }),
    ...(index === undefined ? {} : { index }),
  };
}

/** `slot:index` of delivered events, the way tests compare streams. */
const positions = (events: readonly PharosEvent[]) =>
  events.map((e) => e.slot === undefined ? `-/${e.data.n}` : `${e.slot}:${e.index}`);

/** A SourceContext recording what the source does; `hold()` makes the sink wait. */
function createRecorder() {
  const delivered: PharosEvent[] = [];
  const sinkCalls: PharosEvent[] = [];
  const statuses: [SourceStatus, string | undefined][] = [];
  let gate: PromiseWithResolvers<void> | undefined;
  let failNext: Error | undefined;
  const context: SourceContext = {
    async sink(e) {
      sinkCalls.push(e);
      if (gate !== undefined) await gate.promise;
      if (failNext !== undefined) {
        const error = failNext;
        failNext = undefined;
        throw error;
      }
      delivered.push(e);
    },
    offer: () => assert.fail("the upstream source waits for room; it never offers"),
    capacity: 10_000,
    onStatus: (status, message) => statuses.push([status, message]),
  };
  return {
    context,
    delivered,
    sinkCalls,
    statuses,
    kinds: () => statuses.map(([status]) => status),
    hold() {
      gate = Promise.withResolvers<void>();
    },
    release() {
      gate?.resolve();
      gate = undefined;
    },
    failOnce(error: Error) {
      failNext = error;
    },
  };
}

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
      assert.equal(feed.closeCodes.at(-1), UpstreamCloseCode.Normal);
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
      await settle();
      assert.equal(stopped, false, "stop() waits for the event in flight");
      recorder.release();
      await stopping;
      assert.equal(recorder.sinkCalls.length, 1);
      await new Promise((resolve) => setTimeout(resolve, 30));
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
    await until(() => feed.closeCodes.includes(UpstreamCloseCode.Overflow), "the 4008 close");
    // Nothing was delivered yet, so the upstream replays all seven in one message: taken
    // whole into the emptied queue (refusing it would refuse every replay).
    await until(() => feed.subscribes.length === 2, "the resubscription");
    assert.deepEqual(feed.subscribes[1], { type: "subscribe" });
    await settle();
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

/** A scripted WebSocket for FakeClock tests: the test opens, feeds and fails it. */
class FakeSocket extends EventTarget {
  readyState: number = WebSocket.CONNECTING;
  binaryType: BinaryType = "blob";
  readonly sent: string[] = [];
  closedWith: [number, string] | undefined;
  /** A peer that never completes the closing handshake. */
  hangOnClose = false;

  constructor(readonly url: string, readonly headers: Record<string, string>) {
    super();
  }

  send(data: string): void {
    if (this.readyState !== WebSocket.OPEN) throw new DOMException("not open", "InvalidStateError");
    this.sent.push(data);
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState >= WebSocket.CLOSING) return;
    this.readyState = WebSocket.CLOSING;
    this.closedWith = [code, reason];
    if (!this.hangOnClose) queueMicrotask(() => this.closed(code, reason));
  }

  open(): void {
    this.readyState = WebSocket.OPEN;
    this.dispatchEvent(new Event("open"));
  }

  receive(data: unknown): void {
    this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(data) }));
  }

  fail(message: string): void {
    this.dispatchEvent(new ErrorEvent("error", { message }));
    this.closed(1006, "");
  }

  closed(code: number, reason: string): void {
    this.readyState = WebSocket.CLOSED;
    this.dispatchEvent(new CloseEvent("close", { code, reason }));
  }
}

function fakeUpstream(options: Partial<UpstreamSourceOptions> = {}) {
  const clock = new FakeClock();
  const sockets: FakeSocket[] = [];
  const connectedAt: number[] = [];
  let refuse = true;
  const source = createUpstreamSource({
    url: "ws://upstream.test/feed",
    clock,
    log,
    random: () => 0.5,
    connect(url, headers) {
      const socket = new FakeSocket(url, headers);
      sockets.push(socket);
      connectedAt.push(clock.monotonic());
      if (refuse) queueMicrotask(() => socket.fail("connection refused"));
      return socket as unknown as WebSocket;
    },
    ...options,
  });
  return {
    clock,
    source,
    sockets,
    connectedAt,
    last: () => sockets.at(-1)!,
    accept(yes = true) {
      refuse = !yes;
    },
  };
}

Deno.test("upstream source timing and resume (fake clock)", async (t) => {
  await t.step(
    "reconnect delays follow the backoff and reset after a healthy session",
    async () => {
      const upstream = fakeUpstream({
        backoff: { initialMs: 100, maxMs: 10_000 },
        healthyAfterMs: 5000,
      });
      const { clock, connectedAt } = upstream;
      const recorder = createRecorder();
      await upstream.source.start(recorder.context);

      /** Checks that the next attempt comes exactly `delayMs` after the last. */
      const expectAttemptAfter = async (delayMs: number) => {
        await settle();
        const before = connectedAt.length;
        assert.equal(clock.pendingTimers, 1, "one reconnect timer");
        clock.advance(delayMs - 1);
        assert.equal(connectedAt.length, before, `no attempt before ${delayMs} ms`);
        clock.advance(1);
        assert.equal(connectedAt.length, before + 1, `an attempt at ${delayMs} ms`);
      };
      for (const delay of [100, 200, 400, 800]) await expectAttemptAfter(delay);
      assert.ok(
        recorder.statuses.some(([s, m]) =>
          s === "reconnecting" && m === "cannot connect: connection refused"
        ),
      );

      // A short session does not reset the backoff.
      upstream.accept();
      await expectAttemptAfter(1600);
      upstream.last().open();
      assert.equal(recorder.kinds().at(-1), "connected");
      clock.advance(4999);
      upstream.last().closed(1006, "");
      assert.match(recorder.statuses.at(-1)?.[1] ?? "", /connection closed \(1006\)/);
      await expectAttemptAfter(3200);

      // A session open for healthyAfterMs does.
      upstream.last().open();
      clock.advance(5000);
      upstream.last().closed(1001, "going away");
      await expectAttemptAfter(100);
      upstream.last().open();
      upstream.last().closed(1001, "going away");
      await expectAttemptAfter(200);

      await upstream.source.stop();
      assert.equal(clock.pendingTimers, 0, "stop() leaves no timer behind");
      assert.deepEqual(upstream.last().closedWith, [1000, "source stopped"]);
      assert.equal(recorder.kinds().at(-1), "disconnected");
    },
  );

  await t.step("stop() while backing off cancels the timer; no attempt follows", async () => {
    const upstream = fakeUpstream();
    const recorder = createRecorder();
    await upstream.source.start(recorder.context);
    await settle();
    assert.equal(upstream.clock.pendingTimers, 1);
    await upstream.source.stop();
    assert.equal(upstream.clock.pendingTimers, 0);
    upstream.clock.advance(120_000);
    assert.equal(upstream.connectedAt.length, 1);
    assert.deepEqual(recorder.kinds(), ["reconnecting", "reconnecting", "disconnected"]);
  });

  await t.step("resumeFrom, cursor substitution, dedup and arrival-order indexes", async () => {
    const upstream = fakeUpstream({
      resumeFrom: "5:000000000002",
      subscribe: JSON.stringify({ op: "sub", after: "{{cursor}}", n: 1 }),
    });
    upstream.accept();
    const recorder = createRecorder();
    await upstream.source.start(recorder.context);
    upstream.last().open();
    assert.deepEqual(upstream.last().sent.map((s) => JSON.parse(s)), [
      { op: "sub", after: "5:000000000002", n: 1 },
    ]);
    upstream.last().receive([event(5, 1), event(5, 2), event(5, 3), event(6), event(6), event(7)]);
    upstream.last().receive(event(undefined));
    await until(() => recorder.delivered.length === 5, "the new events");
    assert.deepEqual(positions(recorder.delivered).slice(0, 4), ["5:3", "6:0", "6:1", "7:0"]);
    // The index is stamped so the VM's _seq is the source's cursor.
    assert.equal(recorder.delivered[1]?.index, 0);
    assert.equal(upstream.source.cursor(), "7:000000000000");
    assert.equal(upstream.source.duplicateEvents, 2);
    await upstream.source.stop();
  });

  await t.step(
    "a sink failure closes with 4011 and resumes from the cursor, even if the close hangs",
    async () => {
      const upstream = fakeUpstream({
        subscribe: JSON.stringify({ from: "{{cursor}}" }),
        closeTimeoutMs: 500,
      });
      upstream.accept();
      const recorder = createRecorder();
      await upstream.source.start(recorder.context);
      const first = upstream.last();
      first.hangOnClose = true;
      first.open();
      first.receive([event(1, 0)]);
      await until(() => recorder.delivered.length === 1, "the first event");
      recorder.failOnce(new Error("pipeline hiccup"));
      first.receive([event(1, 1), event(1, 2)]);
      await until(() => first.closedWith !== undefined, "the close");
      assert.deepEqual(first.closedWith, [UpstreamCloseCode.DeliveryFailed, "delivery failed"]);

      // The upstream never answers the close: the source gives up on it after 500 ms.
      upstream.clock.advance(499);
      assert.equal(recorder.kinds().at(-1), "connected");
      upstream.clock.advance(1);
      assert.equal(recorder.kinds().at(-1), "reconnecting");
      upstream.clock.advance(100);
      assert.equal(upstream.sockets.length, 2);
      const second = upstream.last();
      second.open();
      assert.deepEqual(JSON.parse(second.sent[0]!), { from: "1:000000000000" });
      // The abandoned socket closing late changes nothing.
      first.closed(UpstreamCloseCode.DeliveryFailed, "");
      assert.equal(recorder.kinds().at(-1), "connected");
      second.receive([event(1, 0), event(1, 1), event(1, 2)]);
      await until(() => recorder.delivered.length === 3, "the resumed events");
      assert.deepEqual(positions(recorder.delivered), ["1:0", "1:1", "1:2"]);
      await upstream.source.stop();
      assert.equal(upstream.clock.pendingTimers, 0);
      assert.equal(upstream.sockets.length, 2);
    },
  );

  await t.step("rejects bad options at creation", () => {
    const base = { clock: new FakeClock(), log };
    assert.throws(() => createUpstreamSource({ ...base, url: "http://x.test" }), TypeError);
    assert.throws(() => createUpstreamSource({ ...base, url: "not a url" }), TypeError);
    assert.throws(
      () => createUpstreamSource({ ...base, url: "ws://x.test", resumeFrom: "5:1" }),
      TypeError,
    );
    assert.throws(
      () => createUpstreamSource({ ...base, url: "ws://x.test", subscribe: "[1]" }),
      TypeError,
    );
    assert.throws(
      () => createUpstreamSource({ ...base, url: "ws://x.test", subscribe: "{" }),
      TypeError,
    );
  });
});
