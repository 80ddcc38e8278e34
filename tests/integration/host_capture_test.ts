/**
 * Captures of a real handler host (`/debug/…?target=host` underneath): a CPU profile and a
 * heap snapshot streamed back over the host's pipe while it runs batches, a heap snapshot
 * that the watchdog does not take for a stuck run, a runaway handler that fails the
 * capture instead of hanging it, and guest code that never gets the `sys` permission the
 * host's inspector was opened with.
 */
import assert from "node:assert/strict";
import { getLogger } from "../../src/log/mod.ts";
import {
  createHostedVm,
  DEMO_STACK_MODULE,
  HostCaptureError,
  openSandbox,
  type Sandbox,
} from "../../src/sandbox/mod.ts";
import type { PharosEvent } from "../../src/stack/mod.ts";
import { systemClock } from "../../src/util/mod.ts";
import type { Vm } from "../../src/vm/mod.ts";
import { createRecordingTelemetry } from "../fakes/recording_telemetry.ts";
import { within } from "../wait.ts";

const HOSTILE = {
  url: new URL("../fixtures/hostile_stack.ts", import.meta.url).href,
  exportName: "default",
};

async function hosted(
  module: typeof HOSTILE,
  options: { handlerTimeoutMs: number; diagnostics: boolean },
): Promise<{ sandbox: Sandbox; vm: Vm } & AsyncDisposable> {
  const telemetry = createRecordingTelemetry();
  const log = getLogger(["pharos", "vm"]);
  const settings = {
    stateTableSize: 100,
    handlerTimeoutMs: options.handlerTimeoutMs,
    functionCallMetrics: false,
  };
  const sandbox = await openSandbox({
    module,
    settings,
    memoryMb: 64,
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
    clock: systemClock,
    log,
    telemetry: telemetry.vm,
    diagnostics: options.diagnostics,
  });
  const vm = createHostedVm({
    stack: sandbox.stack,
    pool: sandbox.pool,
    clock: systemClock,
    telemetry: telemetry.vm,
    log,
    stateTableSize: 100,
    handlerTimeoutMs: options.handlerTimeoutMs,
  });
  return { sandbox, vm, [Symbol.asyncDispose]: () => sandbox.pool.close() };
}

const transfer = (i: number): PharosEvent => ({
  type: "Transfer",
  slot: 10 + i,
  data: { mint: `mint${i % 5}`, from: "a", to: "b", amount: "1" },
});
const act = (key: string, mode?: string): PharosEvent => ({
  type: "Act",
  key,
  slot: 1,
  data: mode === undefined ? {} : { mode },
});

async function json(body: ReadableStream<Uint8Array>): Promise<Record<string, unknown>> {
  return JSON.parse(await new Response(body).text());
}

Deno.test("a handler host's CPU profile and heap snapshot, taken while it runs batches", async () => {
  await using host = await hosted(DEMO_STACK_MODULE, {
    handlerTimeoutMs: 1000,
    diagnostics: true,
  });
  const { pool } = host.sandbox;
  const pid = pool.status().pid;
  const profile = pool.capture("profile", 1);
  // Batches go on while the host samples: the profile does not hold the host.
  let batches = 0;
  let done = false;
  void profile.finally(() => (done = true));
  while (!done) {
    await host.vm.processBatch([transfer(batches), transfer(batches + 1)]);
    batches++;
  }
  const file = await profile;
  const cpu = await json(file.body);
  assert.ok((cpu.nodes as unknown[]).length > 0);
  assert.equal((cpu.samples as unknown[]).length, (cpu.timeDeltas as unknown[]).length);
  assert.ok((cpu.endTime as number) > (cpu.startTime as number));
  assert.ok(batches >= 5, `batches ran during the profile: ${batches}`);

  const heap = await pool.capture("heap", 0);
  assert.ok(heap.bytes > 1_000_000, `a heap snapshot of ${heap.bytes} bytes`);
  const text = await new Response(heap.body).text();
  assert.equal(new TextEncoder().encode(text).length, heap.bytes);
  const snapshot = JSON.parse(text);
  assert.ok(Array.isArray(snapshot.snapshot.meta.node_fields));
  assert.equal(
    snapshot.nodes.length,
    snapshot.snapshot.node_count * snapshot.snapshot.meta.node_fields.length,
  );
  // The host's heap, not this process's: the host's entry is in it, this test is not.
  const strings = snapshot.strings as string[];
  assert.ok(strings.some((s) => s.endsWith("sandbox/host_main.ts")));
  assert.ok(!strings.some((s) => s.includes("host_capture_test.ts")));
  assert.equal(pool.status().pid, pid, "the same host throughout");
  assert.equal(pool.restarts, 0);
});

Deno.test("a capture that stops the host past the run budget does not get it killed", async () => {
  // A 60 ms watchdog; a heap snapshot alone takes far longer, and starting the profiler
  // about as long, with a batch waiting behind each.
  await using host = await hosted(DEMO_STACK_MODULE, { handlerTimeoutMs: 10, diagnostics: true });
  const { pool } = host.sandbox;
  await host.vm.processBatch([transfer(0)]); // seeded, warm
  for (const what of ["heap", "profile"] as const) {
    const [file, result] = await Promise.all([
      pool.capture(what, 1),
      host.vm.processBatch([transfer(1), transfer(2)]),
    ]);
    await file.body.cancel();
    assert.deepEqual(result.failures, []);
    assert.equal(result.mutations.length, 2);
  }
  assert.equal(pool.restarts, 0);
});

Deno.test("a heap snapshot asked of a host in a runaway handler fails, it does not hang", async () => {
  await using host = await hosted(HOSTILE, { handlerTimeoutMs: 200, diagnostics: true });
  const { pool } = host.sandbox;
  const looping = pool.current()!;
  // The run goes first down the host's pipe; the capture waits behind it, never read.
  const run = looping.run({
    t: "run",
    id: 1,
    from: 0,
    budgetMs: null,
    timings: false,
    skip: [],
    events: [act("bad", "loop")],
  });
  run.catch(() => {});
  const error = await within(10_000, "the capture's failure", () =>
    looping.capture("heap", 0).then(
      () => assert.fail("a looping host took a snapshot"),
      (error: unknown) => error,
    ));
  assert.ok(error instanceof HostCaptureError);
  assert.equal(error.reason, "died");
  assert.match(error.message, /the handler host ended \(timeout, signal SIGKILL\)/);
  // The next batch promotes the spare, which takes captures.
  await host.vm.processBatch([act("after")]);
  const next = await pool.capture("heap", 0);
  await next.body.cancel();
  assert.notEqual(pool.current()?.pid, looping.pid);
});

Deno.test("the host's inspector: profiles only with diagnostics; guest code never gets sys", async (t) => {
  await t.step("with diagnostics, a handler reaching for sys fails NotCapable", async () => {
    await using host = await hosted(HOSTILE, { handlerTimeoutMs: 1000, diagnostics: true });
    const result = await host.vm.processBatch([act("s", "sys"), act("ok")]);
    assert.deepEqual(result.failures.map((f) => [f.event, f.code]), [[0, "NotCapable"]]);
    assert.deepEqual(result.mutations.map((m) => m.key), ["ok"]);
    const file = await host.sandbox.pool.capture("profile", 1);
    await file.body.cancel();
  });

  await t.step(
    "without diagnostics: a CPU profile is unavailable, a heap snapshot works",
    async () => {
      await using host = await hosted(HOSTILE, { handlerTimeoutMs: 1000, diagnostics: false });
      const { pool } = host.sandbox;
      const error = await pool.capture("profile", 1).catch((error: unknown) => error);
      assert.ok(error instanceof HostCaptureError);
      assert.equal(error.reason, "unavailable");
      assert.match(error.message, /no inspector session/);
      const heap = await pool.capture("heap", 0);
      await heap.body.cancel();
    },
  );
});
