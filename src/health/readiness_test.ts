import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { createHealthMonitor } from "./mod.ts";

Deno.test("health monitor", async (t) => {
  await t.step("starts Disconnected and unhealthy", () => {
    const health = createHealthMonitor({ clock: new FakeClock() });
    assert.deepEqual(health.status(), { kind: "Disconnected" });
    assert.equal(health.isHealthy(), false);
    assert.equal(health.lastEventAgeMs(), undefined);
  });

  await t.step("connected is healthy until 2 x heartbeat passes without events", () => {
    const clock = new FakeClock();
    const health = createHealthMonitor({ clock, heartbeatMs: 1000 });
    health.recordConnection();
    assert.equal(health.isHealthy(), true);
    clock.advance(2000);
    assert.equal(health.isHealthy(), true, "exactly 2 x heartbeat is still fresh");
    clock.advance(1);
    assert.equal(health.isHealthy(), false, "stale");
    health.recordEvent();
    assert.equal(health.isHealthy(), true, "an event makes it fresh again");
    clock.advance(1500);
    assert.equal(health.lastEventAgeMs(), 1500);
    clock.advance(501);
    assert.equal(health.isHealthy(), false);
    assert.deepEqual(health.status(), { kind: "Connected" }, "stale is not a status change");
  });

  await t.step("the default heartbeat is 30 s", () => {
    const clock = new FakeClock();
    const health = createHealthMonitor({ clock });
    health.recordConnection();
    clock.advance(60_000);
    assert.equal(health.isHealthy(), true);
    clock.advance(1);
    assert.equal(health.isHealthy(), false);
  });

  await t.step("a reconnection refreshes staleness", () => {
    const clock = new FakeClock();
    const health = createHealthMonitor({ clock, heartbeatMs: 1000 });
    health.recordConnection();
    clock.advance(5000);
    assert.equal(health.isHealthy(), false);
    health.recordConnection();
    assert.equal(health.isHealthy(), true);
  });

  await t.step("reconnecting is healthy for 2 x heartbeat, then not; disconnected never", () => {
    const clock = new FakeClock();
    const health = createHealthMonitor({ clock, heartbeatMs: 1000 });
    health.recordConnection();
    clock.advance(500);
    health.recordReconnecting();
    clock.advance(1500);
    health.recordReconnecting(); // another attempt continues the same episode
    clock.advance(500);
    assert.deepEqual(health.status(), { kind: "Reconnecting" });
    assert.equal(health.isHealthy(), true, "exactly 2 x heartbeat into reconnecting");
    clock.advance(1);
    assert.equal(health.isHealthy(), false, "a reconnect that keeps failing is not ready");
    health.recordConnection();
    assert.equal(health.isHealthy(), true);
    health.recordReconnecting();
    assert.equal(health.isHealthy(), true, "a new episode starts its own grace");
    health.recordDisconnection();
    assert.equal(health.isHealthy(), false);
  });

  await t.step("stale: warned once per episode, again only after an event", () => {
    const clock = new FakeClock();
    const warnings: number[] = [];
    const health = createHealthMonitor({
      clock,
      heartbeatMs: 1000,
      onStale: (silentMs) => warnings.push(silentMs),
    });
    health.recordConnection();
    using _checks = health.start();
    clock.advance(2000);
    assert.deepEqual(warnings, [], "fresh at exactly 2 x heartbeat");
    clock.advance(1000); // the check at t=3000 finds it stale
    assert.deepEqual(warnings, [3000]);
    clock.advance(5000);
    assert.equal(warnings.length, 1, "one warning per stale episode");
    health.recordEvent();
    clock.advance(3000);
    assert.deepEqual(warnings, [3000, 3000], "a new episode after an event");
  });

  await t.step("an error is unhealthy, keeps its message and is counted", () => {
    const clock = new FakeClock();
    const health = createHealthMonitor({ clock });
    health.recordConnection();
    health.recordEvent();
    health.recordError("upstream reset");
    assert.deepEqual(health.status(), { kind: "Error", message: "upstream reset" });
    assert.equal(health.isHealthy(), false);
    health.recordError("again");
    assert.equal(health.errorCount, 2);
    health.recordConnection();
    assert.equal(health.isHealthy(), true);
  });
});

Deno.test("health monitor tells of status and healthiness transitions", () => {
  const clock = new FakeClock();
  const seen: string[] = [];
  const health = createHealthMonitor({
    clock,
    heartbeatMs: 1000,
    onTransition: ({ from, to, healthy }) => seen.push(`${from}>${to}:${healthy}`),
  });
  health.recordReconnecting();
  health.recordReconnecting(); // the same episode: nothing new to tell
  health.recordConnection();
  health.check(); // fresh: no change
  clock.advance(2001);
  health.check(); // stale: unhealthy without a status change
  health.check();
  health.recordEvent();
  health.check();
  health.recordDisconnection();
  assert.deepEqual(seen, [
    "Disconnected>Reconnecting:true",
    "Reconnecting>Connected:true",
    "Connected>Connected:false",
    "Connected>Connected:true",
    "Connected>Disconnected:false",
  ]);
});
