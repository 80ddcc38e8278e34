import assert from "node:assert/strict";
import { CloseCode } from "../../protocol/mod.ts";
import { FakeClock } from "../../../tests/fakes/fake_clock.ts";
import { createRecorder, event, positions } from "../../../tests/fakes/upstream_recorder.ts";
import { nextTurn, until } from "../../../tests/wait.ts";
import { getLogger } from "../../log/mod.ts";
import { createUpstreamSource, type UpstreamSourceOptions } from "./upstream_source.ts";

const log = getLogger(["pharos", "sources", "upstream"]);

/** Lets pending socket events and the delivery loop run. */
const settle = nextTurn;

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
      assert.deepEqual(first.closedWith, [CloseCode.UpstreamDeliveryFailed, "delivery failed"]);

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
      first.closed(CloseCode.UpstreamDeliveryFailed, "");
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
