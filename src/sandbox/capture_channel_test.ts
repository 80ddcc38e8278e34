import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { nextTurn } from "../../tests/wait.ts";
import {
  CaptureChannel,
  HEAP_TIMEOUT_MS,
  HostCaptureError,
  PROFILE_GRACE_MS,
  READ_TIMEOUT_MS,
} from "./capture_channel.ts";
import type { ServerMessage } from "./protocol.ts";

function setup() {
  const clock = new FakeClock();
  const sent: ServerMessage[] = [];
  const channel = new CaptureChannel({
    clock,
    send: (message) => {
      sent.push(message);
      return Promise.resolve();
    },
  });
  return { clock, sent, channel };
}

const b64 = (text: string) => new TextEncoder().encode(text).toBase64();

async function rejection(promise: Promise<unknown>): Promise<HostCaptureError> {
  const error = await promise.then(() => undefined, (error: unknown) => error);
  assert.ok(error instanceof HostCaptureError, `expected a HostCaptureError, got ${error}`);
  return error;
}

Deno.test("capture channel", async (t) => {
  await t.step(
    "a capture is asked for, taken, then read chunk by chunk as it is pulled",
    async () => {
      const { sent, channel } = setup();
      const taken = channel.take("heap", 0);
      assert.deepEqual(sent, [{ t: "capture", id: 1, what: "heap", seconds: 0 }]);
      channel.onMessage({ t: "capturing", id: 1 });
      channel.onMessage({ t: "captured", id: 1, bytes: 7 });
      const capture = await taken;
      assert.equal(capture.bytes, 7);
      assert.equal(sent.length, 1, "nothing is read before the reader pulls");
      const reader = capture.body.getReader();
      const first = reader.read();
      await nextTurn();
      assert.deepEqual(sent.at(-1), { t: "read", id: 1 });
      channel.onMessage({ t: "chunk", id: 1, data: b64('{"a":') });
      assert.equal(new TextDecoder().decode((await first).value), '{"a":');
      const second = reader.read();
      await nextTurn();
      channel.onMessage({ t: "chunk", id: 1, data: b64("1}") });
      assert.equal(new TextDecoder().decode((await second).value), "1}");
      assert.equal((await reader.read()).done, true);
      assert.deepEqual(sent.filter((m) => m.t === "read").length, 2);
      assert.ok(
        !sent.some((m) => m.t === "release"),
        "a file read to the end is dropped by the host",
      );
    },
  );

  await t.step(
    "a heap snapshot or a profiler starting blocks the host (the watchdog waits)",
    () => {
      const { channel } = setup();
      void channel.take("heap", 0);
      assert.equal(channel.blocking, false, "asked, not begun: the host may be running a batch");
      channel.onMessage({ t: "capturing", id: 1 });
      assert.equal(channel.blocking, true);
      channel.onMessage({ t: "captured", id: 1, bytes: 0 });
      assert.equal(channel.blocking, false);
      void channel.take("profile", 1);
      channel.onMessage({ t: "capturing", id: 2 });
      assert.equal(channel.blocking, true, "V8 stops the host to start its profiler");
      channel.onMessage({ t: "sampling", id: 2 });
      assert.equal(channel.blocking, false, "a CPU profile samples while the host runs");
    },
  );

  await t.step("no answer in time: timeout, and the host is told to let the file go", async () => {
    const { clock, sent, channel } = setup();
    const profile = channel.take("profile", 5);
    clock.advance(5000 + PROFILE_GRACE_MS - 1);
    channel.onMessage({ t: "capturing", id: 1 });
    clock.advance(1);
    const error = await rejection(profile);
    assert.equal(error.reason, "timeout");
    assert.match(error.message, /did not take the CPU profile within 15 s/);
    assert.deepEqual(sent.at(-1), { t: "release", id: 1 });
    channel.onMessage({ t: "captured", id: 1, bytes: 10 }); // late: released again, ignored
    assert.deepEqual(sent.at(-1), { t: "release", id: 1 });

    const heap = channel.take("heap", 0);
    channel.onMessage({ t: "capturing", id: 2 });
    clock.advance(HEAP_TIMEOUT_MS);
    assert.equal((await rejection(heap)).reason, "timeout");
    assert.equal(channel.blocking, false, "a snapshot that never ends stops holding the watchdog");
  });

  await t.step("a chunk that does not come in time fails the body", async () => {
    const { clock, sent, channel } = setup();
    const taken = channel.take("heap", 0);
    channel.onMessage({ t: "captured", id: 1, bytes: 100 });
    const reader = (await taken).body.getReader();
    const read = reader.read();
    await nextTurn();
    clock.advance(READ_TIMEOUT_MS);
    assert.equal((await rejection(read)).reason, "timeout");
    assert.deepEqual(sent.at(-1), { t: "release", id: 1 });
  });

  await t.step("the host fails or ends: the capture and a read under way fail", async () => {
    const { channel } = setup();
    const refused = channel.take("profile", 1);
    channel.onMessage({
      t: "capture-failed",
      id: 1,
      reason: "unavailable",
      message: "no inspector",
    });
    const error = await rejection(refused);
    assert.equal(error.reason, "unavailable");
    assert.equal(error.message, "no inspector");

    const taken = channel.take("heap", 0);
    channel.onMessage({ t: "captured", id: 2, bytes: 100 });
    const reader = (await taken).body.getReader();
    const read = reader.read();
    await nextTurn();
    const pending = channel.take("profile", 1);
    channel.failAll(new HostCaptureError("died", "the handler host ended (timeout)"));
    assert.equal((await rejection(read)).reason, "died");
    assert.equal((await rejection(pending)).reason, "died");
  });

  await t.step("a reader that goes away releases the file", async () => {
    const { sent, channel } = setup();
    const taken = channel.take("heap", 0);
    channel.onMessage({ t: "captured", id: 1, bytes: 100 });
    await (await taken).body.cancel();
    assert.deepEqual(sent.at(-1), { t: "release", id: 1 });
  });

  await t.step("more bytes than announced fail the body", async () => {
    const { channel } = setup();
    const taken = channel.take("heap", 0);
    channel.onMessage({ t: "captured", id: 1, bytes: 2 });
    const reader = (await taken).body.getReader();
    const read = reader.read();
    await nextTurn();
    channel.onMessage({ t: "chunk", id: 1, data: b64("abc") });
    assert.equal((await rejection(read)).reason, "failed");
  });
});
