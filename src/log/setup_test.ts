import assert from "node:assert/strict";
import { parseLogFilter } from "../config/mod.ts";
import { systemClock } from "../util/mod.ts";
import { configureLogging, getLogger } from "./mod.ts";

/** A writable that collects text; `blocked` makes every write hang until released. */
function collector() {
  const chunks: string[] = [];
  let release: () => void = () => {};
  let gate: Promise<void> | undefined;
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      if (gate !== undefined) await gate;
      chunks.push(new TextDecoder().decode(chunk));
    },
  });
  return {
    writable,
    lines: () => chunks.join("").split("\n").filter((line) => line !== ""),
    block() {
      gate = new Promise((resolve) => (release = resolve));
    },
    unblock() {
      gate = undefined;
      release();
    },
  };
}

Deno.test("configureLogging", async (t) => {
  await t.step("text lines, filtered per target", async () => {
    const out = collector();
    const logging = await configureLogging({
      filter: parseLogFilter("warn,pharos.ws=debug"),
      format: "text",
      clock: systemClock,
      writable: out.writable,
    });
    getLogger(["pharos", "runtime"]).info("hidden: runtime is at warn");
    getLogger(["pharos", "runtime"]).warn("shown");
    getLogger(["pharos", "ws", "server"]).debug("Client {client_id} pinged", { client_id: "c1" });
    getLogger(["pharos", "ws"]).trace("hidden: ws is at debug");
    await logging[Symbol.asyncDispose]();
    const lines = out.lines();
    assert.equal(lines.length, 2, lines.join("\n"));
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN pharos\.runtime: shown$/);
    assert.match(lines[1]!, / DEBUG pharos\.ws\.server: Client c1 pinged$/);
  });

  await t.step("JSON lines carry the span current when the record was made", async () => {
    const out = collector();
    let current: { name: string; traceId: string; spanId: string } | undefined;
    const logging = await configureLogging({
      filter: parseLogFilter("info"),
      format: "json",
      clock: systemClock,
      writable: out.writable,
      currentSpan: () => current,
    });
    current = { name: "vm.process_event", traceId: "a".repeat(32), spanId: "b".repeat(16) };
    getLogger(["pharos", "vm"]).info("inside");
    current = undefined; // formatting happens later, outside the span
    getLogger(["pharos", "vm"]).info("outside");
    await logging[Symbol.asyncDispose]();
    const [inside, outside] = out.lines().map((line) => JSON.parse(line));
    assert.deepEqual(inside.span, { name: "vm.process_event" });
    assert.equal(inside.trace_id, "a".repeat(32));
    assert.equal(outside.span, undefined);
    assert.equal(outside.trace_id, undefined);
  });

  await t.step("off writes nothing", async () => {
    const out = collector();
    const logging = await configureLogging({
      filter: parseLogFilter("off"),
      format: "text",
      clock: systemClock,
      writable: out.writable,
    });
    getLogger(["pharos", "runtime"]).fatal("nothing");
    await logging[Symbol.asyncDispose]();
    assert.deepEqual(out.lines(), []);
  });

  await t.step(
    "a blocked output never blocks logging: the oldest lines drop, counted",
    async () => {
      const out = collector();
      out.block();
      const logging = await configureLogging({
        filter: parseLogFilter("info"),
        format: "text",
        clock: systemClock,
        writable: out.writable,
        bufferRecords: 100,
      });
      const log = getLogger(["pharos", "flood"]);
      const started = performance.now();
      for (let i = 0; i < 10_000; i++) log.info("line {i}", { i });
      const elapsedMs = performance.now() - started;
      // Logging returned without waiting on the blocked writer.
      assert.ok(elapsedMs < 5000, `10 000 records took ${elapsedMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 1200)); // a drop report is due
      assert.ok(logging.droppedLines >= 9_000, `dropped ${logging.droppedLines}`);
      out.unblock();
      await logging[Symbol.asyncDispose]();
      const lines = out.lines();
      // The buffer (100) plus the batch the writer had taken before it blocked (≤ 50),
      // plus the drop report: memory stayed bounded.
      assert.ok(lines.length <= 100 + 50 + 2, `wrote ${lines.length} lines`);
      assert.ok(lines.some((line) => / WARN pharos\.log: Dropped \d+ log lines/.test(line)));
      assert.ok(lines.some((line) => line.endsWith("line 9999")), "the newest lines are kept");
    },
  );
});
