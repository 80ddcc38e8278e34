/**
 * The hosted VM against real handler host processes: the same results as the in-process
 * VM, state that survives a host restart (bigints included), and each way a handler can
 * take its host down identified, counted, skipped, with the rest of the batch processed.
 */
import assert from "node:assert/strict";
import { demoStack, type PharosEvent, toSeq } from "../../src/stack/mod.ts";
import {
  createHostedVm,
  DEMO_STACK_MODULE,
  HOST_FLAG,
  hostLaunch,
  HostProcess,
  openSandbox,
  type Sandbox,
  SandboxError,
} from "../../src/sandbox/mod.ts";
import { getLogger } from "../../src/log/mod.ts";
import { systemClock } from "../../src/util/mod.ts";
import { createVm, type Vm } from "../../src/vm/mod.ts";
import { createRecordingTelemetry, type RecordingTelemetry } from "../fakes/recording_telemetry.ts";
import { recordLogs } from "../fakes/recording_log.ts";
import { FakeClock } from "../fakes/fake_clock.ts";
import { nextTurn, until } from "../wait.ts";

const HOSTILE = {
  url: new URL("../fixtures/hostile_stack.ts", import.meta.url).href,
  exportName: "default",
};
// Generous, so a heap bomb on a loaded machine dies of memory before the watchdog kills it.
const BUDGET_MS = 1000;

interface Hosted extends AsyncDisposable {
  readonly vm: Vm;
  readonly sandbox: Sandbox;
  readonly telemetry: RecordingTelemetry;
}

async function hosted(
  module = HOSTILE,
  options: { memoryMb?: number; env?: Record<string, string>; callMetrics?: boolean } = {},
): Promise<Hosted> {
  const telemetry = createRecordingTelemetry();
  const log = getLogger(["pharos", "vm"]);
  const settings = {
    stateTableSize: 100,
    handlerTimeoutMs: BUDGET_MS,
    functionCallMetrics: options.callMetrics === true,
  };
  const sandbox = await openSandbox({
    module,
    settings,
    memoryMb: options.memoryMb ?? 64,
    env: { ...Deno.env.toObject(), ...options.env },
    cwd: Deno.cwd(),
    clock: systemClock,
    log,
    telemetry: telemetry.vm,
  });
  const vm = createHostedVm({
    stack: sandbox.stack,
    pool: sandbox.pool,
    clock: systemClock,
    telemetry: telemetry.vm,
    log,
    stateTableSize: settings.stateTableSize,
    handlerTimeoutMs: BUDGET_MS,
  });
  return { vm, sandbox, telemetry, [Symbol.asyncDispose]: () => sandbox.pool.close() };
}

const act = (key: string, mode?: string, slot = 1): PharosEvent => ({
  type: "Act",
  key,
  slot,
  data: mode === undefined ? {} : { mode },
});

Deno.test("the hosted demo stack produces exactly what the in-process VM does", async () => {
  await using host = await hosted(DEMO_STACK_MODULE);
  const inline = createVm({
    stack: demoStack,
    clock: systemClock,
    telemetry: createRecordingTelemetry().vm,
    stateTableSize: 100,
  });
  const events: PharosEvent[] = [];
  for (let i = 0; i < 600; i++) {
    const amount = (10n ** 18n + BigInt(i)).toString(); // past 2^53: a bigint in state
    events.push({
      type: "Transfer",
      slot: 1000 + Math.floor(i / 7),
      data: { mint: `mint${i % 150}`, from: `a${i}`, to: `b${i}`, amount },
    });
  }
  // Batches of 64, as the pipeline cuts them: 150 mints in a table of 100 also evicts.
  for (let from = 0; from < events.length; from += 64) {
    const batch = events.slice(from, from + 64);
    const expected = await inline.processBatch(batch);
    const actual = await host.vm.processBatch(batch);
    assert.deepEqual(actual.mutations, expected.mutations);
    assert.deepEqual(actual.failures, expected.failures);
    assert.equal(actual.next, batch.length);
  }
  for (let i = 0; i < 150; i++) {
    assert.deepEqual(host.vm.state("Token", `mint${i}`), inline.state("Token", `mint${i}`));
  }
  assert.equal(typeof host.vm.state("Token", "mint149")?.volume, "bigint");
});

Deno.test("the host reports each handler run with its duration only when asked", async () => {
  await using host = await hosted(DEMO_STACK_MODULE);
  const batch: PharosEvent[] = [0, 1].map((i) => ({
    type: "Transfer",
    slot: 50,
    data: { mint: `mint${i}`, from: "a", to: "b", amount: "1" },
  }));
  const quiet = await host.vm.processBatch(batch);
  assert.equal(quiet.runs, undefined, "no runs without asking");
  const result = await host.vm.processBatch(batch, { runs: true });
  assert.deepEqual(
    result.runs?.map((run) => [run.entity, run.handler, run.event, run.key]),
    [["Token", "Transfer", 0, "mint0"], ["Token", "Transfer", 1, "mint1"]],
  );
  for (const run of result.runs!) {
    assert.ok(run.durationMs >= 0 && run.durationMs < BUDGET_MS, `a duration: ${run.durationMs}`);
  }
  // A batch sent ahead carries the request too.
  host.vm.prefetch!(batch, { runs: true });
  const ahead = await host.vm.processBatch(batch);
  assert.deepEqual(ahead.runs?.map((run) => run.key), ["mint0", "mint1"]);
});

Deno.test("a host killed from outside is replaced by the seeded spare: state carries on", async () => {
  await using host = await hosted();
  await host.vm.processBatch([
    { type: "Big", key: "a", data: { add: "9007199254740993" } },
    act("a"),
    act("a"),
  ]);
  const pid = host.sandbox.pool.status().pid!;
  Deno.kill(pid, "SIGKILL");
  const result = await host.vm.processBatch([
    { type: "Big", key: "a", data: { add: "1" } },
    act("a"),
  ]);
  assert.notEqual(host.sandbox.pool.status().pid, pid);
  assert.deepEqual(result.failures, []);
  assert.deepEqual(host.vm.state("Item", "a"), { total: 9007199254740994n, n: 3 });
  assert.deepEqual(result.mutations.map((m) => m.patch), [
    { total: "9007199254740994" }, // no slot, no cursor
    { n: 3, _seq: toSeq(1, 2) }, // the slot's numbering carries on across the restart
  ]);
  assert.equal(host.telemetry.count("vm.hostRestarted", "crash"), 1);
});

Deno.test("the hosts report their memory and CPU time; the CPU count survives a replacement", async (t) => {
  await using host = await hosted(DEMO_STACK_MODULE);
  const { pool } = host.sandbox;
  const MiB = 1024 * 1024;
  let reading = pool.usage();

  await t.step("the active host answers at once: resident set, heap, CPU, the cap", async () => {
    await until(() => {
      reading = pool.usage();
      return reading.residentBytes !== undefined && reading.cpuSeconds > 0;
    }, "the first usage report");
    assert.ok(reading.residentBytes! > 10 * MiB, `rss ${reading.residentBytes}`);
    assert.ok(reading.heapUsedBytes! > 0 && reading.heapUsedBytes! < 64 * MiB);
    assert.equal(reading.heapLimitBytes, 64 * MiB);
    assert.deepEqual(pool.status().memory, {
      rssBytes: reading.residentBytes,
      heapUsedBytes: reading.heapUsedBytes,
    }, "/status shows the same report");
  });

  await t.step(
    "killed and replaced: the count goes on from what the dead host reported",
    async () => {
      const before = pool.usage().cpuSeconds;
      const pid = pool.status().pid!;
      Deno.kill(pid, "SIGKILL");
      await host.vm.processBatch([{ type: "Transfer", slot: 1, data: { mint: "m", amount: "1" } }]);
      assert.notEqual(pool.status().pid, pid);
      assert.ok(pool.usage().cpuSeconds >= before, "a replacement is not a reset");
      // The new active host is asked as it takes over.
      await until(() => pool.usage().cpuSeconds > before, "the new host's first report");
      assert.ok(pool.usage().residentBytes! > 10 * MiB);
    },
  );
});

Deno.test("a handler that takes its host down is identified, counted and skipped", async (t) => {
  await using logs = await recordLogs(["pharos", "vm"]);
  await using host = await hosted(HOSTILE, { memoryMb: 32 });
  const cases: [mode: string, reason: string][] = [
    ["loop", "timeout"],
    ["asyncLoop", "timeout"],
    ["bomb", "memory"],
    ["exit", "crash"],
    ["stdout", "crash"],
  ];
  for (const [mode, reason] of cases) {
    await t.step(`${mode}: cancelled as ${reason}, the events around it processed`, async () => {
      const restarts = host.sandbox.pool.restarts;
      const result = await host.vm.processBatch([
        act(`${mode}-1`),
        act("bad", mode),
        act(`${mode}-2`),
      ]);
      assert.equal(result.next, 3);
      assert.deepEqual(
        result.failures.map((f) => [f.event, f.entity, f.code]),
        [[1, "Item", reason]],
      );
      assert.deepEqual(result.mutations.map((m) => m.key), [`${mode}-1`, `${mode}-2`]);
      assert.equal(host.vm.state("Item", "bad"), undefined);
      assert.equal(host.sandbox.pool.restarts, restarts + 1);
    });
  }
  assert.equal(host.telemetry.count("vm.handlerCancelled", "Item", "timeout"), 2);
  assert.equal(host.telemetry.count("vm.handlerCancelled", "Item", "memory"), 1);
  assert.equal(host.telemetry.count("vm.handlerCancelled", "Item", "crash"), 2);
  assert.equal(host.telemetry.count("vm.hostRestarted"), 5);

  await t.step("two killers in one batch: both skipped, the pipeline moves on", async () => {
    const result = await host.vm.processBatch([
      act("x", "exit"),
      act("y"),
      act("z", "exit"),
      act("w"),
    ]);
    assert.deepEqual(result.failures.map((f) => [f.event, f.code]), [[0, "crash"], [2, "crash"]]);
    assert.deepEqual(result.mutations.map((m) => m.key), ["y", "w"]);
  });

  await t.step(
    "errors inside the host keep their code; waits past the budget time out",
    async () => {
      const restarts = host.sandbox.pool.restarts;
      const result = await host.vm.processBatch([
        act("t", "throw"),
        act("e", "env"),
        act("r", "read"),
        act("n", "never"),
        act("l", "log"),
      ]);
      assert.deepEqual(result.failures.map((f) => [f.event, f.code]), [
        [0, "RangeError"],
        [1, "NotCapable"],
        [2, "NotCapable"],
        [3, "timeout"],
      ]);
      assert.match(String((result.failures[1]!.error as Error).message), /PHAROS_INGEST_TOKEN/);
      // A run the host cancels itself (an await that never ends) costs no restart.
      assert.equal(host.sandbox.pool.restarts, restarts);
      assert.ok(logs.text().includes("hello from a handler"), "guest console output is logged");
    },
  );
});

Deno.test("a batch sent ahead runs once, and its killer is found like any other", async () => {
  await using host = await hosted();
  // As the pipeline does it: the next batch is sent ahead once the one before has run.
  await host.vm.processBatch([act("p"), act("q")]);
  const ahead = [act("p")];
  host.vm.prefetch!(ahead);
  const early = await host.vm.processBatch(ahead);
  assert.deepEqual(early.mutations.map((m) => [m.key, m.patch.n]), [["p", 2]]);
  // Sent ahead with a killer inside: its marks still name the run, the rest runs once.
  const killer = [act("p"), act("bad", "exit"), act("q")];
  host.vm.prefetch!(killer);
  const killed = await host.vm.processBatch(killer);
  assert.deepEqual(killed.failures.map((f) => [f.event, f.code]), [[1, "crash"]]);
  assert.deepEqual(killed.mutations.map((m) => [m.key, m.patch.n]), [["p", 3], ["q", 2]]);
  // While a batch is under way, nothing is sent ahead of it.
  const running = host.vm.processBatch([act("q")]);
  host.vm.prefetch!([act("p")]);
  await running;
  const last = await host.vm.processBatch([act("p")]);
  assert.deepEqual(last.mutations.map((m) => [m.key, m.patch.n]), [["p", 4]]);
  assert.equal(host.vm.state("Item", "q")?.n, 3);
});

Deno.test("with function call metrics, run times measured inside the host are recorded", async () => {
  await using host = await hosted(HOSTILE, { callMetrics: true });
  await host.vm.processBatch([act("a"), act("b"), { type: "Big", key: "a", data: { add: "1" } }]);
  assert.equal(host.telemetry.count("vm.handlerDuration", "Item", "Act"), 2);
  assert.equal(host.telemetry.count("vm.handlerDuration", "Item", "Big"), 1);
});

Deno.test("a stack module the host cannot load is refused with the reason", async () => {
  const notAStack = new URL("../fixtures/not_a_stack.ts", import.meta.url).href;
  await assert.rejects(
    () => hosted({ url: notAStack, exportName: "default" }),
    (error: Error) =>
      error instanceof SandboxError && /not created with defineStack/.test(error.message),
  );
});

Deno.test("inside a compiled executable the host revokes what the stack did not declare", async () => {
  // `deno compile` cannot run here; `main.ts` with the host flag under `deno run -A` is the
  // same code path: every permission granted, then narrowed by the host itself.
  const settings = { stateTableSize: 10, handlerTimeoutMs: BUDGET_MS, functionCallMetrics: false };
  const spec = {
    module: HOSTILE,
    settings,
    permissions: undefined,
    memoryMb: 64,
    configPath: undefined,
    env: { ...Deno.env.toObject(), PHAROS_INGEST_TOKEN: "compiled-secret" },
  };
  const standalone = hostLaunch(spec, true);
  assert.deepEqual(standalone.args.slice(0, 1), [HOST_FLAG]);
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const host = HostProcess.spawn({
    launch: { ...standalone, args: ["run", "-A", main, ...standalone.args] },
    clock: systemClock,
    watchdogMs: BUDGET_MS + 50,
  });
  try {
    const ready = await host.ready;
    assert.equal(ready.manifest.name, "hostile");
    await host.send({ t: "seed", tables: {} });
    const { done } = await host.run({
      t: "run",
      id: 1,
      from: 0,
      budgetMs: null,
      timings: false,
      skip: [],
      events: [act("e", "env"), act("r", "read"), act("ok")],
    });
    assert.deepEqual(done.f.map((f) => [f[5], f[2]]), [[0, "NotCapable"], [1, "NotCapable"]]);
    assert.deepEqual(done.m.map((m) => m[1]), ["ok"]);
  } finally {
    host.kill("crash");
    await host.exited;
  }
});

Deno.test("a watchdog whose timer comes a budget late starts over: it blames the host one budget later", async () => {
  const clock = new FakeClock();
  const spec = {
    module: HOSTILE,
    settings: { stateTableSize: 10, handlerTimeoutMs: 50, functionCallMetrics: false },
    permissions: undefined,
    memoryMb: 64,
    // The project's import map, as openSandbox finds it (the hostile stack imports from it).
    configPath: new URL("../../deno.json", import.meta.url).pathname,
    env: {},
  };
  const host = HostProcess.spawn({ launch: hostLaunch(spec, false), clock, watchdogMs: 100 });
  try {
    await host.ready;
    await host.send({ t: "seed", tables: {} });
    const run = host.run({
      t: "run",
      id: 1,
      from: 0,
      budgetMs: null,
      timings: false,
      skip: [],
      events: [act("spin", "loop")],
    });
    run.catch(() => {}); // it ends with the host
    // The server stalls for a second (a heap snapshot of itself): the watchdog's timer runs
    // far past its due time, and cannot tell a stuck host from marks it has not read.
    clock.busy(1000);
    clock.advance(0);
    await nextTurn();
    assert.equal(host.alive, true, "not killed for the server's own stall");
    // A whole budget later, on time, the runaway is what it is.
    clock.advance(100);
    await until(() => !host.alive, "the runaway host killed");
    assert.equal((await host.exited).reason, "timeout");
  } finally {
    host.kill("crash");
    await host.exited;
  }
});
