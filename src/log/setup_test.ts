import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { parseLogFilter } from "../log/mod.ts";
import { systemClock } from "../util/mod.ts";
import { configureLogging, getLogger, type LogRecord } from "./mod.ts";

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
      const clock = new FakeClock();
      const logging = await configureLogging({
        filter: parseLogFilter("info"),
        format: "text",
        clock,
        writable: out.writable,
        bufferRecords: 100,
      });
      const log = getLogger(["pharos", "flood"]);
      const started = performance.now();
      for (let i = 0; i < 10_000; i++) log.info("line {i}", { i });
      const elapsedMs = performance.now() - started;
      // Logging returned without waiting on the blocked writer.
      assert.ok(elapsedMs < 5000, `10 000 records took ${elapsedMs} ms`);
      clock.advance(1_000); // a drop report is due
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

  await t.step(
    "info,pharos.ws=debug: LogTape itself knows each target's level, so debug is off elsewhere",
    async () => {
      const out = collector();
      const logging = await configureLogging({
        filter: parseLogFilter("info,pharos.ws=debug"),
        format: "json",
        clock: systemClock,
        writable: out.writable,
      });
      assert.equal(getLogger(["pharos", "projector"]).isEnabledFor("debug"), false);
      assert.equal(getLogger(["pharos", "projector"]).isEnabledFor("info"), true);
      assert.equal(getLogger(["pharos", "ws", "server"]).isEnabledFor("debug"), true);
      assert.equal(getLogger(["pharos", "ws"]).isEnabledFor("debug"), true);
      assert.equal(getLogger(["pharos", "ws"]).isEnabledFor("trace"), false);
      assert.equal(getLogger(["pharos"]).isEnabledFor("debug"), false);
      // A lazy debug call where debug is off never evaluates its properties.
      let evaluated = 0;
      getLogger(["pharos", "projector"]).debug("hidden", () => {
        evaluated++;
        return { n: 1 };
      });
      getLogger(["pharos", "ws"]).debug("shown {n}", () => {
        evaluated++;
        return { n: 2 };
      });
      getLogger(["pharos", "projector"]).info("shown too");
      getLogger(["pharos", "ws", "server"]).trace("hidden: trace");
      await logging[Symbol.asyncDispose]();
      assert.equal(evaluated, 1, "only the enabled call built its properties");
      const lines = out.lines().map((line) => JSON.parse(line));
      assert.deepEqual(
        lines.map((l) => [l.level, l.target, l.message]),
        [["DEBUG", "pharos.ws", "shown 2"], ["INFO", "pharos.projector", "shown too"]],
      );
    },
  );

  await t.step("LogTape's levels equal the filter's for every target and level", async () => {
    const filters = [
      "info",
      "off",
      "trace",
      "warn,pharos.ws=debug",
      "info,pharos.ws=trace,pharos.ws.server=warn",
      "debug,pharos.projector=off",
      "pharos=error,pharos.ws.server=trace",
      "off,pharos.sources",
      "error,pharos.sources.demo=debug,pharos.sources=warn",
      "pharos.vm=fatal",
    ];
    const categories = [
      ["pharos"],
      ["pharos", "ws"],
      ["pharos", "ws", "server"],
      ["pharos", "ws", "server", "deeper"],
      ["pharos", "wsx"],
      ["pharos", "projector"],
      ["pharos", "sources"],
      ["pharos", "sources", "demo"],
      ["pharos", "sources", "other"],
      ["pharos", "vm"],
      ["pharos", "log"],
    ];
    const levels = ["trace", "debug", "info", "warning", "error", "fatal"] as const;
    for (const spec of filters) {
      const filter = parseLogFilter(spec);
      const records: LogRecord[] = [];
      const logging = await configureLogging({
        filter,
        format: "text",
        clock: systemClock,
        sink: (record) => void records.push(record),
      });
      const expected: string[] = [];
      for (const category of categories) {
        const logger = getLogger(category);
        for (const level of levels) {
          const allowed = filter.allows(category, level);
          assert.equal(
            logger.isEnabledFor(level),
            allowed,
            `${spec}: ${category.join(".")} at ${level}`,
          );
          logger[level === "warning" ? "warn" : level]("{where}", {
            where: `${category.join(".")}@${level}`,
          });
          if (allowed) expected.push(`${category.join(".")}@${level}`);
        }
      }
      await logging[Symbol.asyncDispose]();
      // Each allowed record reaches the sink exactly once; no other record does.
      assert.deepEqual(records.map((r) => r.properties.where), expected, spec);
    }
  });

  await t.step("the drop report, made by a timer, carries no span", async () => {
    const out = collector();
    out.block();
    const span = { name: "runtime", traceId: "c".repeat(32), spanId: "d".repeat(16) };
    const clock = new FakeClock();
    const logging = await configureLogging({
      filter: parseLogFilter("info"),
      format: "json",
      clock,
      writable: out.writable,
      bufferRecords: 10,
      currentSpan: () => span, // as if start-up's span were active forever
    });
    const log = getLogger(["pharos", "flood"]);
    for (let i = 0; i < 1000; i++) log.info("line {i}", { i });
    clock.advance(1_000); // a drop report is due
    out.unblock();
    await logging[Symbol.asyncDispose]();
    const records = out.lines().map((line) => JSON.parse(line));
    const report = records.find((r) => r.target === "pharos.log");
    assert.ok(report, "a drop report");
    assert.equal(report.trace_id, undefined);
    assert.equal(report.span, undefined);
    assert.equal(records.find((r) => r.target === "pharos.flood")?.trace_id, span.traceId);
  });

  await t.step("setFilter swaps the filter while running: LogTape's levels follow", async () => {
    const out = collector();
    const logging = await configureLogging({
      filter: parseLogFilter("info"),
      format: "text",
      clock: systemClock,
      writable: out.writable,
    });
    const ws = getLogger(["pharos", "ws"]);
    const projector = getLogger(["pharos", "projector"]);
    ws.debug("hidden: before the change");
    assert.equal(ws.isEnabledFor("debug"), false);

    logging.setFilter(parseLogFilter("warn,pharos.ws=debug"));
    assert.equal(logging.filter.spec, "warning,pharos.ws=debug");
    assert.equal(ws.isEnabledFor("debug"), true);
    assert.equal(projector.isEnabledFor("info"), false);
    ws.debug("shown: after the change");
    projector.info("hidden: the default is warn now");

    logging.setFilter(parseLogFilter("info"));
    ws.debug("hidden: back to info");
    projector.info("shown: info again");
    await logging[Symbol.asyncDispose]();
    // One output throughout: the swap neither closed the writer nor lost a line.
    assert.deepEqual(out.lines().map((line) => line.replace(/^\S+ /, "")), [
      "DEBUG pharos.ws: shown: after the change",
      "INFO pharos.projector: shown: info again",
    ]);
  });

  await t.step("ignored targets: one WARN line naming the closest known target", async () => {
    const records: LogRecord[] = [];
    const logging = await configureLogging({
      filter: parseLogFilter("info,hyperstack_server=debug,hyper=warn"),
      format: "text",
      clock: systemClock,
      sink: (record) => void records.push(record),
    });
    await logging[Symbol.asyncDispose]();
    assert.equal(records.length, 1, records.map((r) => r.message.join("")).join("\n"));
    const [warning] = records;
    assert.equal(warning!.level, "warning");
    assert.deepEqual(warning!.category, ["pharos", "log"]);
    assert.equal(
      warning!.message.join(""),
      "Ignored log filter targets Pharos does not log under: " +
        "hyperstack_server (closest known target: pharos.ws.server), " +
        "hyper (closest known target: pharos.http)",
    );
    assert.equal(warning!.properties.filter, "info");
  });

  await t.step("no ignored target, no warning", async () => {
    const records: LogRecord[] = [];
    const logging = await configureLogging({
      filter: parseLogFilter("info,pharos.ws=debug"),
      format: "text",
      clock: systemClock,
      sink: (record) => void records.push(record),
    });
    await logging[Symbol.asyncDispose]();
    assert.deepEqual(records, []);
  });
});
