import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import {
  configureLogging,
  createLogFilterControl,
  getLogger,
  type LogFilterControl,
  type LogRecord,
  parseLogFilter,
} from "./mod.ts";

/** Logging configured with `startup`, records kept, and a control over its filter. */
async function setup(startup: string) {
  const clock = new FakeClock();
  const records: LogRecord[] = [];
  const logging = await configureLogging({
    filter: parseLogFilter(startup),
    format: "text",
    clock,
    sink: (record) => void records.push(record),
  });
  const control = createLogFilterControl({ logging, clock, log: getLogger(["pharos", "log"]) });
  const loggingTimers = clock.pendingTimers; // the drop report's
  return {
    clock,
    /** Timers the control has pending (its TTL). */
    ttlTimers: () => clock.pendingTimers - loggingTimers,
    logging,
    control,
    records,
    /** The WARN lines of `pharos.log` so far, as text. */
    changes: () =>
      records.filter((r) => r.category.join(".") === "pharos.log" && r.level === "warning")
        .map((r) => r.message.join("")),
    async [Symbol.asyncDispose]() {
      control[Symbol.dispose]();
      await logging[Symbol.asyncDispose]();
    },
  };
}

const ws = getLogger(["pharos", "ws"]);

Deno.test("log filter control", async (t) => {
  await t.step("a change is in force at once, with its time left, then ends", async () => {
    await using s = await setup("info");
    assert.deepEqual(s.control.status(), {
      filter: "info",
      startup_filter: "info",
      ttl_s: null,
      remaining_s: null,
      expires_at: null,
    });
    ws.debug("before: hidden");
    const set = s.control.set(parseLogFilter("info,pharos.ws=debug"), 600, "10.0.0.7");
    assert.deepEqual(set, {
      filter: "info,pharos.ws=debug",
      startup_filter: "info",
      ttl_s: 600,
      remaining_s: 600,
      expires_at: new Date(s.clock.now() + 600_000).toISOString(),
    });
    ws.debug("during: shown");

    s.clock.advance(200_500);
    assert.equal(s.control.status().remaining_s, 400, "rounded up");
    assert.equal(s.logging.filter.spec, "info,pharos.ws=debug");

    s.clock.advance(399_499);
    assert.equal(s.control.status().remaining_s, 1);
    ws.debug("just before the end: shown");
    s.clock.advance(1); // the TTL ends: the start-up filter comes back
    assert.equal(s.logging.filter.spec, "info");
    assert.equal(s.control.status().ttl_s, null);
    assert.equal(ws.isEnabledFor("debug"), false);
    ws.debug("after: hidden");
    assert.equal(s.ttlTimers(), 0);

    assert.deepEqual(
      s.records.filter((r) => r.level === "debug").map((r) => r.message.join("")),
      ["during: shown", "just before the end: shown"],
    );
    assert.deepEqual(s.changes(), [
      "Log filter set to info,pharos.ws=debug by 10.0.0.7 for 600 s, then info",
      "Log filter info,pharos.ws=debug expired after 600 s: back to info",
    ]);
    const [change] = s.records.filter((r) => r.level === "warning");
    assert.equal(change!.properties.previous, "info");
    assert.equal(change!.properties.peer, "10.0.0.7");
  });

  await t.step("a second change replaces the first and its TTL", async () => {
    await using s = await setup("warn");
    s.control.set(parseLogFilter("debug"), 60, "a");
    s.clock.advance(30_000);
    s.control.set(parseLogFilter("info"), 120, "b");
    assert.equal(s.ttlTimers(), 1, "the first TTL was cancelled");
    s.clock.advance(60_000); // the first change's end passes: nothing happens
    assert.equal(s.logging.filter.spec, "info");
    assert.equal(s.control.status().remaining_s, 60);
    s.clock.advance(60_000);
    assert.equal(s.logging.filter.spec, "warning");
    assert.equal(s.changes().length, 3, s.changes().join("\n"));
    assert.match(s.changes()[1]!, /set to info by b for 120 s, then warning$/);
    assert.match(s.changes()[2]!, /^Log filter info expired after 120 s/);
  });

  await t.step("every change is logged at WARN even when a filter hides warnings", async () => {
    await using s = await setup("info");
    // To `off`: logged before the change, while the start-up filter still shows it.
    s.control.set(parseLogFilter("off"), 5, "ops");
    assert.equal(ws.isEnabledFor("fatal"), false);
    ws.error("hidden: everything is off");
    // Back from `off`: logged after, once the start-up filter shows it again.
    s.clock.advance(5_000);
    assert.deepEqual(s.changes(), [
      "Log filter set to off by ops for 5 s, then info",
      "Log filter off expired after 5 s: back to info",
    ]);
    assert.equal(s.records.filter((r) => r.level === "error").length, 0);
  });

  await t.step("reset puts the start-up filter back now; with none set, nothing", async () => {
    await using s = await setup("info");
    s.control.reset("ops");
    assert.deepEqual(s.changes(), [], "no change, no line");
    s.control.set(parseLogFilter("pharos.ws=trace"), 600, "ops");
    const status = s.control.reset("ops");
    assert.equal(status.filter, "info");
    assert.equal(status.remaining_s, null);
    assert.equal(s.ttlTimers(), 0);
    assert.deepEqual(s.changes().slice(1), [
      "Log filter pharos.ws=trace reset by ops: back to info",
    ]);
  });

  await t.step(
    "a TTL outside 1 to 86 400 whole seconds is a RangeError, nothing changed",
    async () => {
      await using s = await setup("info");
      for (const ttl of [0, -1, 0.5, 86_401, Number.NaN, Infinity]) {
        assert.throws(
          () => s.control.set(parseLogFilter("debug"), ttl, "ops"),
          (error: Error) => error instanceof RangeError && /from 1 to 86400/.test(error.message),
          String(ttl),
        );
      }
      assert.equal(s.logging.filter.spec, "info");
      assert.equal(s.ttlTimers(), 0);
      s.control.set(parseLogFilter("debug"), 86_400, "ops"); // the bounds themselves are fine
      s.control.set(parseLogFilter("debug"), 1, "ops");
    },
  );

  await t.step("disposing cancels the TTL; the filter in force stays", async () => {
    await using s = await setup("info");
    const control: LogFilterControl = s.control;
    control.set(parseLogFilter("debug"), 60, "ops");
    control[Symbol.dispose]();
    assert.equal(s.ttlTimers(), 0);
    assert.equal(s.logging.filter.spec, "debug");
  });
});
