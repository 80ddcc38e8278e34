import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { realTime } from "../../tests/wait.ts";
import type { RuntimeTelemetry } from "./facade.ts";
import { createLoopMonitor, mainThreadCpuSeconds } from "./loop_monitor.ts";

/** A runtime facade that keeps what it is told. */
function recorder() {
  const delays: number[] = [];
  const utilizations: number[] = [];
  const telemetry: RuntimeTelemetry = {
    loopDelay: (seconds) => void delays.push(seconds),
    loopUtilization: (ratio) => void utilizations.push(ratio),
  };
  return { telemetry, delays, utilizations };
}

Deno.test("the loop delay is how late each timer fires", async (t) => {
  const clock = new FakeClock();
  const { telemetry, delays } = recorder();
  const monitor = createLoopMonitor({ clock, telemetry, threadCpuSeconds: () => 0 });
  monitor.start();

  await t.step("timers on time: a delay of 0, one sample every 20 ms", () => {
    clock.advance(100);
    assert.deepEqual(delays, [0, 0, 0, 0, 0]);
  });
  await t.step("a loop held busy 130 ms: the timer due 20 ms in comes 110 ms late", () => {
    delays.length = 0;
    clock.busy(130);
    clock.advance(0);
    assert.equal(delays.length, 1);
    assert.ok(Math.abs(delays[0]! - 0.11) < 1e-9, `delay ${delays[0]}`);
  });
  await t.step("the next timer counts from when the late one ran: on time again", () => {
    clock.advance(20);
    assert.equal(delays.at(-1), 0);
  });
  await t.step("a second start does nothing; stop leaves no timer", () => {
    monitor.start();
    assert.equal(clock.pendingTimers, 1);
    monitor.stop();
    assert.equal(clock.pendingTimers, 0);
    const before = delays.length;
    clock.advance(1000);
    assert.equal(delays.length, before, "nothing sampled once stopped");
  });
});

Deno.test("the utilization is the main thread's CPU time over the last 5 s of wall time", async (t) => {
  const clock = new FakeClock();
  const { telemetry, utilizations } = recorder();
  // A thread busy 25 % of the time for 5 s, then all of it.
  let cpuSeconds = 0;
  let busyShare = 0.25;
  let last = 0;
  const threadCpuSeconds = () => {
    const now = clock.monotonic();
    cpuSeconds += ((now - last) / 1000) * busyShare;
    last = now;
    return cpuSeconds;
  };
  const monitor = createLoopMonitor({ clock, telemetry, threadCpuSeconds });
  monitor.start();

  await t.step("nothing before the first second: no span to divide by", () => {
    clock.advance(999);
    assert.deepEqual(utilizations, []);
  });
  await t.step("then once a second, over the span so far", () => {
    clock.advance(1);
    assert.equal(utilizations.length, 1);
    assert.ok(Math.abs(utilizations[0]! - 0.25) < 1e-9, `${utilizations[0]}`);
    clock.advance(4000);
    assert.equal(utilizations.length, 5);
  });
  await t.step("a load change shows in full once 5 s have passed", () => {
    busyShare = 1;
    clock.advance(1000);
    // 4 s at 25 % and 1 s at 100 % over the last 5 s.
    assert.ok(Math.abs(utilizations.at(-1)! - 0.4) < 1e-9, `${utilizations.at(-1)}`);
    clock.advance(4000);
    assert.ok(Math.abs(utilizations.at(-1)! - 1) < 1e-9, `${utilizations.at(-1)}`);
  });
  await t.step("a reading above the wall time (rounding) is capped at 1", () => {
    cpuSeconds += 1;
    clock.advance(1000);
    assert.equal(utilizations.at(-1), 1);
  });
  monitor.stop();
});

Deno.test("without a CPU reading only the delay is sampled", () => {
  const clock = new FakeClock();
  const { telemetry, delays, utilizations } = recorder();
  const monitor = createLoopMonitor({ clock, telemetry, threadCpuSeconds: () => undefined });
  monitor.start();
  clock.advance(3000);
  monitor.stop();
  assert.equal(delays.length, 150);
  assert.deepEqual(utilizations, []);
});

Deno.test("the default CPU reading is this thread's, and it grows while the thread works", async () => {
  const before = mainThreadCpuSeconds();
  assert.ok(before !== undefined && before > 0, `thread CPU ${before}`);
  // Work until the reading moves (it advances in 10 ms steps), for at most 5 s of real time.
  const started = performance.now();
  let now = before;
  while (now === before && performance.now() - started < 5000) {
    for (let i = 0; i < 1e5; i++) Math.sqrt(i);
    now = mainThreadCpuSeconds()!;
  }
  assert.ok(now > before, "the thread's CPU time did not grow while it worked");
  // Waiting is not working: a timer's wait adds (almost) nothing.
  const idle = mainThreadCpuSeconds()!;
  await realTime(200, "an idle thread uses no CPU time while it waits");
  assert.ok(mainThreadCpuSeconds()! - idle < 0.1, "CPU time grew while the thread waited");
});
