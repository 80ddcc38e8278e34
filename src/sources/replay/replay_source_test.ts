import assert from "node:assert/strict";
import { FakeClock } from "../../../tests/fakes/fake_clock.ts";
import { recordLogs } from "../../../tests/fakes/recording_log.ts";
import { getLogger } from "../../log/mod.ts";
import type { PharosEvent } from "../../stack/mod.ts";
import {
  createReplaySource,
  type ReplaySourceOptions,
  type SourceContext,
  type SourceStatus,
} from "../mod.ts";
import { nextTurn, until } from "../../../tests/wait.ts";

function transfer(mint: string, slot: number, extra: Record<string, unknown> = {}) {
  return {
    type: "Transfer",
    slot,
    data: { mint, from: "alice", to: "bob", amount: "1" },
    ...extra,
  };
}

/** A temp NDJSON file (removed on dispose) with `lines` (objects are JSON-encoded). */
async function tempFile(lines: unknown[]): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempFile({
    dir: "/tmp",
    prefix: "pharos-replay-",
    suffix: ".ndjson",
  });
  const text = lines.map((line) => typeof line === "string" ? line : JSON.stringify(line))
    .join("\n");
  await Deno.writeTextFile(path, text);
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path) };
}

/** A context that records deliveries; `hold(n)` makes sink call n on wait until `release()`. */
function recordingContext() {
  const delivered: PharosEvent[] = [];
  const statuses: [SourceStatus, string | undefined][] = [];
  let gate: { promise: Promise<void>; open: () => void; from: number } | undefined;
  const context: SourceContext = {
    async sink(event) {
      delivered.push(event);
      if (gate !== undefined && delivered.length >= gate.from) await gate.promise;
    },
    offer: () => {
      throw new Error("replay must use the sink (backpressure), not offer");
    },
    capacity: 10_000,
    onStatus: (status, message) => statuses.push([status, message]),
  };
  return {
    context,
    delivered,
    statuses,
    last: () => statuses.at(-1)?.[0],
    hold(from: number) {
      const { promise, resolve } = Promise.withResolvers<void>();
      gate = { promise, open: resolve, from };
    },
    release() {
      gate?.open();
      gate = undefined;
    },
  };
}

function replay(options: Partial<ReplaySourceOptions> & { file: string }) {
  return createReplaySource({
    pace: "fast",
    clock: new FakeClock(),
    log: getLogger(["pharos", "test"]),
    ...options,
  });
}

const mints = (events: readonly PharosEvent[]) => events.map((event) => event.data.mint);

Deno.test("replay source: fast pace", async (t) => {
  await t.step("delivers every line in order, then reports disconnected", async () => {
    await using file = await tempFile([
      transfer("a", 1),
      "",
      transfer("b", 2, { timestamp: 1_700_000_000_000 }),
      transfer("c", 3),
    ]);
    const rec = recordingContext();
    await using logs = await recordLogs(["pharos", "test-replay-fast"]);
    const source = replay({ file: file.path, log: logs.log });
    assert.equal(source.name, "replay");
    assert.equal(source.kind, "replay");
    await source.start(rec.context);
    await until(() => rec.last() === "disconnected", "the end of the file");
    assert.deepEqual(mints(rec.delivered), ["a", "b", "c"]);
    assert.equal(rec.statuses[0]![0], "connected");
    assert.equal(rec.delivered[1]!.slot, 2);
    assert.ok(!("timestamp" in rec.delivered[1]!), "timestamp is not part of the event");
    const done = logs.at("info").find((r) => r.rawMessage.toString().includes("finished"));
    assert.ok(done, logs.text());
    assert.equal(
      done.rawMessage,
      "Replay of {file} finished: {events} events, {skipped} skipped",
    );
    assert.equal(done.properties.events, 3);
    assert.equal(done.properties.skipped, 0);
    assert.equal(done.properties.file, file.path);
    await source.stop();
    assert.equal(rec.statuses.length, 2, "no second status after the file ended");
  });

  await t.step("bad lines are logged with their number, counted and skipped", async () => {
    await using file = await tempFile([
      transfer("a", 1),
      "not json",
      { type: "Transfer" },
      transfer("b", 2, { timestamp: "yesterday" }),
      transfer("c", 3, { slot: -1 }),
      transfer("d", 4),
    ]);
    const rec = recordingContext();
    await using logs = await recordLogs(["pharos", "test-replay-bad"]);
    const source = replay({ file: file.path, log: logs.log });
    await source.start(rec.context);
    await until(() => rec.last() === "disconnected", "the end of the file");
    assert.deepEqual(mints(rec.delivered), ["a", "d"]);
    const warnings = logs.at("warning");
    assert.deepEqual(warnings.map((r) => r.properties.line), [2, 3, 4, 5]);
    assert.match(String(warnings[2]!.properties.error), /timestamp/);
    const done = logs.at("info").find((r) => r.properties.skipped !== undefined);
    assert.equal(done?.properties.skipped, 4);
    await source.stop();
  });

  await t.step("long files: lines across read chunks, CRLF, no final newline", async () => {
    const lines = Array.from(
      { length: 3000 },
      (_, i) => JSON.stringify(transfer(`mint-${i}-${"x".repeat(i % 97)}`, 1000 + i)),
    );
    const path = await Deno.makeTempFile({ dir: "/tmp", prefix: "pharos-replay-" });
    try {
      await Deno.writeTextFile(path, lines.join("\r\n"));
      const rec = recordingContext();
      const source = replay({ file: path });
      await source.start(rec.context);
      await until(() => rec.last() === "disconnected", "the end of the file");
      assert.equal(rec.delivered.length, 3000);
      assert.deepEqual(mints(rec.delivered), lines.map((line) => JSON.parse(line).data.mint));
      await source.stop();
    } finally {
      await Deno.remove(path);
    }
  });

  await t.step("a line over maxLineLength is skipped as bad, the next one read", async () => {
    await using file = await tempFile([
      transfer("a", 1),
      transfer("x".repeat(100_000), 2),
      transfer("b", 3),
    ]);
    const rec = recordingContext();
    await using logs = await recordLogs(["pharos", "test-replay-long"]);
    const source = replay({ file: file.path, log: logs.log, maxLineLength: 1000 });
    await source.start(rec.context);
    await until(() => rec.last() === "disconnected", "the end of the file");
    assert.deepEqual(mints(rec.delivered), ["a", "b"]);
    assert.equal(logs.at("warning")[0]?.properties.line, 2);
    await source.stop();
  });
});

Deno.test("replay source: unreadable files", async (t) => {
  await t.step("a missing file: status error naming the file, start does not throw", async () => {
    const rec = recordingContext();
    const path = "/tmp/pharos-replay-does-not-exist.ndjson";
    const source = replay({ file: path });
    await source.start(rec.context);
    assert.equal(rec.last(), "error");
    assert.match(String(rec.statuses.at(-1)![1]), /pharos-replay-does-not-exist\.ndjson/);
    assert.deepEqual(rec.delivered, []);
    await source.stop();
  });

  await t.step("a directory: status error naming it, from the background loop", async () => {
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "pharos-replay-dir-" });
    try {
      const rec = recordingContext();
      const source = replay({ file: dir });
      await source.start(rec.context);
      await until(() => rec.last() === "error", "the error status");
      assert.ok(String(rec.statuses.at(-1)![1]).includes(dir));
      await source.stop();
    } finally {
      await Deno.remove(dir);
    }
  });

  await t.step("a sink that fails: status error, no throw", async () => {
    await using file = await tempFile([transfer("a", 1), transfer("b", 2)]);
    const statuses: SourceStatus[] = [];
    const source = replay({ file: file.path });
    await source.start({
      sink: () => Promise.reject(new Error("The pipeline is shutting down")),
      offer: () => false,
      capacity: 10_000,
      onStatus: (status) => statuses.push(status),
    });
    await until(() => statuses.at(-1) === "error", "the error status");
    await source.stop();
  });

  await t.step("bad options are refused at creation", () => {
    assert.throws(() => replay({ file: "" }), TypeError);
    assert.throws(() => replay({ file: "x", pace: "slow" as "fast" }), TypeError);
    assert.throws(() => replay({ file: "x", resumeFrom: "12" }), TypeError);
    assert.throws(() => replay({ file: "x", maxLineLength: 0 }), RangeError);
  });
});

Deno.test("replay source: recorded pace", async (t) => {
  await t.step(
    "event i arrives at start + (ts_i - ts_0); untimed lines follow at once",
    async () => {
      const t0 = 1_700_000_000_000;
      await using file = await tempFile([
        transfer("a", 1, { timestamp: t0 }),
        transfer("b", 2, { timestamp: t0 + 1000 }),
        transfer("c", 3),
        transfer("d", 4, { timestamp: new Date(t0 + 3500).toISOString() }),
        transfer("e", 5, { timestamp: t0 + 2000 }), // behind schedule: at once
      ]);
      const clock = new FakeClock();
      const rec = recordingContext();
      const source = replay({ file: file.path, clock, pace: "recorded" });
      await source.start(rec.context);
      await until(() => rec.delivered.length === 1 && clock.pendingTimers === 1, "a");
      clock.advance(999);
      await nextTurn();
      assert.equal(clock.pendingTimers, 1, "still waiting for b's time");
      assert.deepEqual(mints(rec.delivered), ["a"]);
      clock.advance(1);
      await until(() => rec.delivered.length === 3 && clock.pendingTimers === 1, "b and c");
      clock.advance(2499);
      await nextTurn();
      assert.equal(clock.pendingTimers, 1, "still waiting for d's time");
      assert.equal(rec.delivered.length, 3);
      clock.advance(1);
      await until(() => rec.last() === "disconnected", "the end of the file");
      assert.deepEqual(mints(rec.delivered), ["a", "b", "c", "d", "e"]);
      await source.stop();
    },
  );

  await t.step("fast pace ignores timestamps", async () => {
    await using file = await tempFile([
      transfer("a", 1, { timestamp: 0 }),
      transfer("b", 2, { timestamp: 3_600_000 }),
    ]);
    const clock = new FakeClock();
    const rec = recordingContext();
    const source = replay({ file: file.path, clock, pace: "fast" });
    await source.start(rec.context);
    await until(() => rec.last() === "disconnected", "the end of the file");
    assert.equal(rec.delivered.length, 2);
    assert.equal(clock.pendingTimers, 0);
    await source.stop();
  });

  await t.step("stop during a wait: returns at once, timer cancelled, nothing after", async () => {
    await using file = await tempFile([
      transfer("a", 1, { timestamp: 0 }),
      transfer("b", 2, { timestamp: 60_000 }),
    ]);
    const clock = new FakeClock();
    const rec = recordingContext();
    const source = replay({ file: file.path, clock, pace: "recorded" });
    await source.start(rec.context);
    await until(() => clock.pendingTimers === 1, "the pacing wait");
    await source.stop();
    assert.equal(clock.pendingTimers, 0);
    assert.deepEqual(rec.statuses.map(([status]) => status), ["connected", "disconnected"]);
    clock.advance(120_000); // no timer left to fire: nothing can follow
    await nextTurn();
    assert.deepEqual(mints(rec.delivered), ["a"]);
    assert.equal(source.cursor?.(), "1:000000000000");
  });
});

Deno.test("replay source: cursor and resume", async (t) => {
  const events = [
    transfer("a", 1000),
    transfer("b", 1000),
    transfer("c", 1000, { index: 5 }),
    transfer("d", 1001),
    { type: "Transfer", data: { mint: "e", from: "x", to: "y", amount: "1" } }, // no slot
    transfer("f", 1002),
    transfer("g", 1002),
  ];

  await t.step("the cursor counts positions as the VM does", async () => {
    await using file = await tempFile(events);
    const rec = recordingContext();
    const source = replay({ file: file.path });
    assert.equal(source.cursor?.(), undefined);
    await source.start(rec.context);
    await until(() => rec.last() === "disconnected", "the end of the file");
    assert.equal(source.cursor?.(), "1002:000000000001");
    await source.stop();
  });

  await t.step("stop mid-file, resume from the cursor: no loss, no duplicates", async () => {
    await using file = await tempFile(events);
    const first = recordingContext();
    const source = replay({ file: file.path });
    first.hold(2);
    await source.start(first.context);
    await until(() => first.delivered.length === 2, "two deliveries");
    // The second sink call is in flight: stop waits for it, then nothing more.
    const stopped = source.stop();
    first.release();
    await stopped;
    assert.deepEqual(mints(first.delivered), ["a", "b"]);
    const cursor = source.cursor?.();
    assert.equal(cursor, "1000:000000000001");

    const second = recordingContext();
    const resumed = replay({ file: file.path, resumeFrom: cursor! });
    await resumed.start(second.context);
    await until(() => second.last() === "disconnected", "the end of the file");
    assert.deepEqual(mints(second.delivered), ["c", "d", "e", "f", "g"]);
    await resumed.stop();
  });

  await t.step("the same instance started again goes on from its cursor", async () => {
    await using file = await tempFile(events);
    const source = replay({ file: file.path });
    const first = recordingContext();
    first.hold(5);
    await source.start(first.context);
    await until(() => first.delivered.length === 5, "five deliveries");
    const stopped = source.stop();
    first.release();
    await stopped;
    const second = recordingContext();
    await source.start(second.context);
    await until(() => second.last() === "disconnected", "the end of the file");
    assert.deepEqual(mints([...first.delivered, ...second.delivered]), [
      "a",
      "b",
      "c",
      "d",
      "e",
      "f",
      "g",
    ]);
    await source.stop();
  });

  await t.step(
    "resuming: lines without a slot right after the cursor line come again",
    async () => {
      await using file = await tempFile(events);
      const after = async (resumeFrom: string) => {
        const rec = recordingContext();
        const source = replay({ file: file.path, resumeFrom });
        await source.start(rec.context);
        await until(() => rec.last() === "disconnected", "the end of the file");
        await source.stop();
        return mints(rec.delivered);
      };
      // "e" (no slot) follows "d" (1001:0): delivered after it, never lost.
      assert.deepEqual(await after("1001:000000000000"), ["e", "f", "g"]);
      assert.deepEqual(await after("1002:000000000000"), ["g"]);
      assert.deepEqual(await after("1000:000000000005"), ["d", "e", "f", "g"]);
      assert.deepEqual(await after("999:000000000000"), ["a", "b", "c", "d", "e", "f", "g"]);
      assert.deepEqual(await after("2000:000000000000"), []);
    },
  );

  await t.step(
    "a line without a slot before the first slotted one is before any cursor",
    async () => {
      await using file = await tempFile([events[4], ...events.slice(0, 4)]);
      const rec = recordingContext();
      const source = replay({ file: file.path, resumeFrom: "1000:000000000000" });
      await source.start(rec.context);
      await until(() => rec.last() === "disconnected", "the end of the file");
      assert.deepEqual(mints(rec.delivered), ["b", "c", "d"]);
      await source.stop();
    },
  );

  await t.step("started again after the file ended: nothing more", async () => {
    await using file = await tempFile(events);
    const source = replay({ file: file.path });
    const first = recordingContext();
    await source.start(first.context);
    await until(() => first.last() === "disconnected", "the end of the file");
    await source.stop();
    const second = recordingContext();
    await source.start(second.context);
    await until(() => second.last() === "disconnected", "the end of the file");
    assert.deepEqual(second.delivered, []);
    await source.stop();
  });
});
