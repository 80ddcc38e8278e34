import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { nextTurn } from "../../tests/wait.ts";
import { HOST_USAGE_INTERVAL_MS, HostUsage, type UsageReporter } from "./host_usage.ts";

/** A host that answers a usage request with what the test sets next. */
class FakeHost implements UsageReporter {
  alive = true;
  memory: readonly [number, number] | undefined;
  cpuSeconds: number | undefined;
  asked = 0;
  readonly exited: Promise<void>;
  /** What the host answers next: `[rss, heapUsed, cpu]`. */
  next: [number, number, number] = [0, 0, 0];
  #exit!: () => void;

  constructor() {
    this.exited = new Promise((resolve) => (this.#exit = resolve));
  }

  requestUsage(): void {
    this.asked++;
    const [rss, heapUsed, cpu] = this.next;
    this.memory = [rss, heapUsed];
    this.cpuSeconds = cpu;
  }

  /** Ends the process; its last report stays what it was. */
  async die(): Promise<void> {
    this.alive = false;
    this.#exit();
    await nextTurn();
  }
}

const MiB = 1024 * 1024;

Deno.test("live hosts are asked at start and every 5 s on the clock, until stopped", () => {
  const clock = new FakeClock();
  const usage = new HostUsage({ clock, heapLimitBytes: 64 * MiB });
  const [a, b] = [new FakeHost(), new FakeHost()];
  usage.track(a);
  assert.equal(a.asked, 0, "not asked before sampling starts");
  usage.start();
  assert.equal(usage.sampling, true);
  assert.deepEqual([a.asked], [1]);
  usage.track(b);
  assert.equal(b.asked, 1, "a host tracked while sampling is asked at once");
  clock.advance(HOST_USAGE_INTERVAL_MS - 1);
  assert.deepEqual([a.asked, b.asked], [1, 1]);
  clock.advance(1);
  assert.deepEqual([a.asked, b.asked], [2, 2]);
  b.alive = false; // killed, not yet seen to exit: not asked
  clock.advance(HOST_USAGE_INTERVAL_MS);
  assert.deepEqual([a.asked, b.asked], [3, 2]);
  usage.stop();
  assert.equal(usage.sampling, false);
  assert.equal(clock.pendingTimers, 0, "no timer left behind");
  clock.advance(HOST_USAGE_INTERVAL_MS * 3);
  assert.equal(a.asked, 3);
});

Deno.test("the reading: the active host's memory, every host's CPU time, the heap cap", async (t) => {
  const clock = new FakeClock();
  const usage = new HostUsage({ clock, heapLimitBytes: 256 * MiB, intervalMs: 1000 });
  const [first, spare] = [new FakeHost(), new FakeHost()];

  await t.step("before any report: no memory, no CPU time, the cap", () => {
    usage.track(first);
    assert.deepEqual(usage.reading(first), {
      residentBytes: undefined,
      heapUsedBytes: undefined,
      heapLimitBytes: 256 * MiB,
      cpuSeconds: 0,
    });
  });
  await t.step("reported: memory of the active host only, CPU time of both", () => {
    first.next = [50 * MiB, 20 * MiB, 2];
    spare.next = [40 * MiB, 5 * MiB, 0.5];
    usage.track(spare);
    usage.start();
    assert.deepEqual(usage.reading(first), {
      residentBytes: 50 * MiB,
      heapUsedBytes: 20 * MiB,
      heapLimitBytes: 256 * MiB,
      cpuSeconds: 2.5,
    });
    assert.equal(usage.reading(undefined).residentBytes, undefined, "no active host: no memory");
  });
  await t.step(
    "the active host dies: its CPU time stays counted, the spare's goes on",
    async () => {
      first.next = [60 * MiB, 30 * MiB, 9]; // never reported: it dies first
      await first.die();
      assert.equal(usage.reading(spare).cpuSeconds, 2.5, "a replacement is not a reset");
      spare.next = [45 * MiB, 8 * MiB, 1.5];
      clock.advance(1000);
      assert.equal(first.asked, 1, "a dead host is not asked");
      const reading = usage.reading(spare);
      assert.equal(reading.cpuSeconds, 3.5);
      assert.equal(reading.residentBytes, 45 * MiB);
    },
  );
  await t.step("a host that never reported adds nothing, and the sum never goes down", async () => {
    const silent = new FakeHost();
    silent.requestUsage = () => {}; // still loading its stack when killed
    usage.track(silent);
    await silent.die();
    await spare.die();
    assert.equal(usage.reading(undefined).cpuSeconds, 3.5);
  });
  usage.stop();
});
