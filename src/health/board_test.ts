import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { createHealthBoard } from "./mod.ts";

Deno.test("health board", async (t) => {
  await t.step("ready only when every required source is healthy", () => {
    const clock = new FakeClock();
    const board = createHealthBoard({ clock, heartbeatMs: 1000 });
    assert.equal(board.isHealthy(), false, "no source: not ready");
    const demo = board.add("demo", "demo");
    const upstream = board.add("upstream", "upstream");
    demo.recordConnection();
    assert.equal(board.isHealthy(), false, "upstream still disconnected");
    upstream.recordConnection();
    assert.equal(board.isHealthy(), true);
    upstream.recordError("refused");
    assert.equal(board.isHealthy(), false);
    assert.deepEqual(board.status(), { kind: "Error", message: "refused" });
    assert.throws(() => board.add("demo", "demo"), /already registered/);
  });

  await t.step("optional sources do not gate readiness but are reported", () => {
    const clock = new FakeClock();
    const board = createHealthBoard({ clock, heartbeatMs: 1000, required: ["demo"] });
    board.add("demo", "demo").recordConnection();
    board.add("replay", "replay").recordDisconnection();
    assert.equal(board.isHealthy(), true);
    assert.deepEqual(board.status(), { kind: "Connected" });
    const replay = board.sources().find((s) => s.name === "replay")!;
    assert.deepEqual(
      [replay.required, replay.status, replay.healthy],
      [false, "Disconnected", false],
    );
  });

  await t.step("status is the worst required one; report carries ages and counts", () => {
    const clock = new FakeClock();
    const board = createHealthBoard({ clock, heartbeatMs: 1000 });
    const a = board.add("a", "demo");
    const b = board.add("b", "upstream");
    a.recordConnection();
    b.recordReconnecting();
    assert.deepEqual(board.status(), { kind: "Reconnecting" });
    a.recordEvent();
    clock.advance(250);
    a.recordEvent();
    clock.advance(100);
    assert.equal(board.lastEventAgeMs(), 100);
    const report = board.sources();
    assert.deepEqual(report[0], {
      name: "a",
      kind: "demo",
      required: true,
      status: "Connected",
      healthy: true,
      last_event_age_ms: 100,
      events: 2,
      errors: 0,
    });
    b.recordError("x");
    assert.equal(board.errorCount, 1);
    assert.equal(board.sources()[1]!.message, "x");
  });

  await t.step("start() runs every source's stale checks until disposed", () => {
    const clock = new FakeClock();
    const stale: string[] = [];
    const board = createHealthBoard({
      clock,
      heartbeatMs: 1000,
      onStale: (source) => stale.push(source),
    });
    board.add("a", "demo").recordConnection();
    board.add("b", "demo").recordConnection();
    const checks = board.start();
    clock.advance(3000);
    assert.deepEqual(stale.sort(), ["a", "b"]);
    checks[Symbol.dispose]();
    assert.equal(clock.pendingTimers, 0);
  });
});
