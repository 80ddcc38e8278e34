import { recordLogs } from "../../tests/fakes/recording_log.ts";
import { createTestProjector } from "../../tests/fakes/test_projector.ts";
import assert from "node:assert/strict";
import { createRecordingTelemetry } from "../../tests/fakes/recording_telemetry.ts";
import { type Bus, createMemoryBus } from "../bus/mod.ts";
import { defineStack, demoStack } from "../stack/mod.ts";
import { createPathCache, createVm, type Mutation } from "../vm/mod.ts";
import { createProjector, type ProjectorOptions } from "./mod.ts";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { parseLogFilter } from "../log/mod.ts";
import { configureLogging, getLogger, type LogRecord, type SpanRecord } from "../log/mod.ts";
import { noopTracing, type Tracing } from "../telemetry/mod.ts";
import { systemClock } from "../util/mod.ts";

const stack = defineStack({
  name: "test",
  entities: { Token: { handlers: {}, append: ["recent"] } },
});

function setup(options: Partial<ProjectorOptions> = {}) {
  return createTestProjector(stack, options);
}

/** Records the frames published on `topic`, as JSON text. */
function listen(bus: Bus, topic: string) {
  const texts: string[] = [];
  const subscription = bus.subscribe(topic, (m) => texts.push(new TextDecoder().decode(m.bytes)));
  return {
    texts,
    json: () => texts.map((text) => JSON.parse(text) as Record<string, unknown>),
    [Symbol.dispose]: () => subscription[Symbol.dispose](),
  };
}

function mutation(
  key: string,
  patch: Record<string, unknown>,
  extra: Partial<Mutation> = {},
): Mutation {
  return { entity: "Token", key, patch, append: [], ...extra };
}

Deno.test("projector patch frames", async (t) => {
  await t.step("patch frames have the protocol's fields in order, entity = view id", () => {
    const { bus, projector } = setup();
    using list = listen(bus, "Token/list");
    using state = listen(bus, "Token/state");
    using append = listen(bus, "Token/append");
    const seq = "100:000000000007";
    projector.apply([
      mutation("m1", { mint: "m1", recent: [{ a: 1 }], _seq: seq }, { append: ["recent"], seq }),
    ]);
    const data = `{"mint":"m1","recent":[{"a":1}],"_seq":"${seq}"}`;
    const tail = `"key":"m1","data":${data},"append":["recent"],"seq":"${seq}"}`;
    assert.deepEqual(list.texts, [`{"mode":"list","entity":"Token/list","op":"patch",${tail}`]);
    assert.deepEqual(state.texts, [`{"mode":"state","entity":"Token/state","op":"patch",${tail}`]);
    assert.deepEqual(append.texts, [
      `{"mode":"append","entity":"Token/append","op":"patch",${tail}`,
    ]);
  });

  await t.step("append is omitted when empty and seq when the event had no slot", () => {
    const { bus, projector } = setup();
    using list = listen(bus, "Token/list");
    projector.apply([mutation("m1", { n: 1 })]);
    assert.deepEqual(list.texts, [
      '{"mode":"list","entity":"Token/list","op":"patch","key":"m1","data":{"n":1}}',
    ]);
  });

  await t.step("big integers from handlers reach the wire as decimal strings", async () => {
    const { bus, projector, clock } = setup({ stack: demoStack });
    const vm = createVm({ stack: demoStack, clock, telemetry: createRecordingTelemetry().vm });
    using list = listen(bus, "Token/list");
    const result = await vm.process({
      type: "Transfer",
      slot: 5,
      data: { mint: "mintA", from: "a", to: "b", amount: "9007199254740993" },
    });
    projector.apply(result.mutations);
    assert.equal(list.texts.length, 1);
    assert.match(list.texts[0]!, /"volume":"9007199254740993"/);
    assert.match(list.texts[0]!, /"amount":"9007199254740993"/);
    assert.match(list.texts[0]!, /"transferCount":1,/);
    const frame = list.json()[0]!;
    assert.deepEqual(frame.append, ["recentTransfers"]);
    assert.equal(frame.seq, "5:000000000000");
    assert.equal((frame.data as Record<string, unknown>)._seq, "5:000000000000");
  });

  await t.step("frames go only to views with subscribers; the cache updates regardless", () => {
    const { bus, projector, telemetry } = setup();
    projector.apply([mutation("m1", { n: 1 })]);
    assert.equal(telemetry.count("projector.framePublished"), 0);
    assert.deepEqual(projector.directory.snapshot("Token/list", {}), [{
      key: "m1",
      data: { n: 1 },
    }]);
    using state = listen(bus, "Token/state");
    projector.apply([mutation("m1", { n: 2 })]);
    assert.equal(state.texts.length, 1);
    assert.equal(telemetry.count("projector.framePublished"), 1);
    assert.equal(telemetry.count("projector.framePublished", "state", "Token"), 1);
  });

  await t.step("every patch of a key is forwarded, none coalesced away", () => {
    const { bus, projector } = setup();
    using state = listen(bus, "Token/state");
    projector.apply([mutation("m1", { a: 1 }), mutation("m1", { b: 2 }), mutation("m1", { a: 3 })]);
    assert.deepEqual(state.json().map((f) => f.data), [{ a: 1 }, { b: 2 }, { a: 3 }]);
    assert.deepEqual(projector.directory.snapshot("Token/state", { key: "m1" }), [
      { key: "m1", data: { a: 3, b: 2 } },
    ]);
  });
});

Deno.test("apply: a batch is applied and published at once, as one batch", async (t) => {
  await t.step("every frame is out when apply returns; one batch is counted", () => {
    const { bus, projector, clock, telemetry } = setup();
    using list = listen(bus, "Token/list");
    projector.apply([mutation("a", { n: 1 }), mutation("b", { n: 2 }), mutation("c", { n: 3 })]);
    assert.deepEqual(list.json().map((f) => f.key), ["a", "b", "c"]);
    assert.equal(telemetry.count("projector.mutationsProcessed", "Token"), 3);
    assert.equal(telemetry.count("projector.batchDone"), 1);
    assert.equal(clock.pendingTimers, 0, "no timer: nothing waits for a later batch");
  });

  await t.step("an empty batch is no batch", () => {
    const { projector, telemetry } = setup();
    projector.apply([]);
    assert.equal(telemetry.count("projector.batchDone"), 0);
  });
});

Deno.test("projector faults and caches", async (t) => {
  await t.step(
    "a view that fails is counted under its id; the other views still update",
    async () => {
      await using logs = await recordLogs(["pharos", "test"], "error");
      const telemetry = createRecordingTelemetry();
      const memory = createMemoryBus({
        onListenerError: (topic, error) => assert.fail(`listener on ${topic} failed: ${error}`),
      });
      // A bus that refuses Token/list's frames (as an encoder or a send might fail).
      const bus: Bus = Object.assign(Object.create(memory), {
        publish: (topic: string, message: Parameters<Bus["publish"]>[1]) => {
          if (topic === "Token/list") throw new Error("list refused");
          memory.publish(topic, message);
        },
      });
      const projector = createProjector({
        stack,
        bus,
        clock: new FakeClock(),
        log: logs.log,
        telemetry: telemetry.projector,
        paths: createPathCache({ telemetry: telemetry.vm }),
      });
      using list = listen(bus, "Token/list");
      using state = listen(bus, "Token/state");
      projector.apply([mutation("a", { n: 1 }), mutation("b", { n: 2 })]);
      assert.equal(telemetry.count("projector.viewError", "Token/list"), 2);
      assert.equal(telemetry.count("projector.viewError", "Token/state"), 0);
      assert.equal(telemetry.count("projector.viewError", "Token"), 0, "never an entity's name");
      assert.deepEqual(list.texts, []);
      assert.deepEqual(state.json().map((f) => f.key), ["a", "b"]);
      assert.deepEqual(projector.directory.snapshot("Token/list", {}).map((e) => e.key), [
        "b",
        "a",
      ]);
      const failures = logs.at("error");
      assert.equal(failures.length, 2);
      assert.equal(failures[0]!.properties.views, "Token/list");
      assert.equal(failures[0]!.properties.entity, "Token");
    },
  );

  await t.step("a mutation the entity's cache cannot take counts each of its views", () => {
    const { bus, projector, telemetry } = setup();
    using list = listen(bus, "Token/list");
    const unreadable = {
      get n(): never {
        throw new Error("unreadable");
      },
    };
    projector.apply([mutation("a", unreadable), mutation("b", { n: 2 })]);
    for (const view of ["Token/list", "Token/state", "Token/append"]) {
      assert.equal(telemetry.count("projector.viewError", view), 1, view);
    }
    assert.deepEqual(list.json().map((f) => f.key), ["b"], "a cannot be read for a frame either");
    assert.deepEqual(projector.directory.snapshot("Token/list", {}).map((e) => e.key), ["b"]);
  });

  await t.step("a mutation of an unknown entity fails alone, under no view", () => {
    const { bus, projector, telemetry } = setup();
    using list = listen(bus, "Token/list");
    projector.apply([
      mutation("a", { n: 1 }),
      { entity: "Nope", key: "x", patch: {}, append: [] },
      mutation("b", { n: 2 }),
    ]);
    assert.equal(telemetry.count("projector.viewError", "Nope"), 0);
    assert.equal(telemetry.count("projector.mutationsProcessed", "Token"), 2);
    assert.deepEqual(list.json().map((f) => f.key), ["a", "b"]);
  });

  await t.step("the view cache keeps cacheSize entities and counts evictions", () => {
    const { projector, telemetry } = setup({ cacheSize: 2 });
    projector.apply([mutation("a", { n: 1 }), mutation("b", { n: 2 }), mutation("c", { n: 3 })]);
    assert.equal(telemetry.count("projector.viewCacheEviction", "Token"), 1);
    assert.deepEqual(projector.directory.snapshot("Token/list", {}).map((e) => e.key), ["c", "b"]);
    assert.deepEqual(projector.directory.snapshot("Token/state", { key: "a" }), []);
  });

  await t.step("cached entities are merged copies, not the mutation's objects", () => {
    const { projector } = setup();
    const patch = { nested: { x: 1 }, recent: [1] };
    projector.apply([mutation("a", patch, { append: ["recent"] })]);
    projector.apply([mutation("a", { nested: { y: 2 }, recent: [2] }, { append: ["recent"] })]);
    assert.deepEqual(patch, { nested: { x: 1 }, recent: [1] });
    assert.deepEqual(projector.directory.snapshot("Token/state", { key: "a" }), [
      { key: "a", data: { nested: { x: 1, y: 2 }, recent: [1, 2] } },
    ]);
  });
});

Deno.test("ownsMutations: the cache takes patches over without copying; frames unchanged", () => {
  const { projector, bus } = setup({ ownsMutations: true });
  const frames = listen(bus, "Token/list");
  const first = { nested: { x: 1 }, recent: [1] };
  projector.apply([mutation("a", first, { append: ["recent"] })]);
  projector.apply([mutation("a", { nested: { y: 2 }, recent: [2] }, { append: ["recent"] })]);
  const [cached] = projector.directory.snapshot("Token/state", { key: "a" });
  assert.equal(cached?.data, first, "the first patch became the cached entity");
  assert.deepEqual(cached?.data, { nested: { x: 1, y: 2 }, recent: [1, 2] });
  assert.deepEqual(frames.texts.map((t) => JSON.parse(t).data), [
    { nested: { x: 1 }, recent: [1] },
    { nested: { y: 2 }, recent: [2] },
  ], "each frame carries its own patch, serialised before the merge");
});

Deno.test("the canonical batch line: info at most once per interval, every batch at debug", async () => {
  await using recording = await recordLogs(["pharos", "projector-test"]);
  const { projector, clock } = createTestProjector(stack, {
    log: recording.log,
    batchLogIntervalMs: 1000,
  });
  const change = (key: string) => {
    projector.apply([{ entity: "Token", key, patch: { n: 1 }, append: [] }]);
  };
  change("a"); // first batch: info
  change("b"); // within the interval: debug only
  change("c");
  clock.advance(1000);
  change("d"); // the interval passed: info, counting the two unlogged batches
  const info = recording.at("info").map((record) => record.properties);
  assert.equal(info.length, 2);
  assert.deepEqual(
    Object.keys(info[0]!),
    ["phase", "batch_size", "frames_published", "errors", "duration_ms", "batches_since_last"],
  );
  assert.deepEqual(info.map((p) => [p.phase, p.batch_size, p.batches_since_last]), [
    ["projector", 1, 1],
    ["projector", 1, 3],
  ]);
  const debugBatches = recording.at("debug").filter((r) =>
    r.rawMessage === "Projector batch processed"
  );
  assert.equal(debugBatches.length, 2);
});

Deno.test("debug and trace: batch work per entity, every mutation applied", async () => {
  const records: LogRecord[] = [];
  await using _logging = await configureLogging({
    filter: parseLogFilter("info,pharos.projector=trace"),
    format: "json",
    clock: systemClock,
    sink: (record) => void records.push(record),
  });
  const { projector, bus } = createTestProjector(stack, {
    log: getLogger(["pharos", "projector"]),
  });
  using _frames = listen(bus, "Token/list");
  projector.apply([mutation("a", { n: 1 }, { seq: "1:000000000000" }), mutation("b", { n: 2 })]);
  const trace = records.filter((r) => r.level === "trace").map((r) => r.properties);
  assert.deepEqual(trace, [
    { entity: "Token", key: "a", frames: 1, seq: "1:000000000000" },
    { entity: "Token", key: "b", frames: 1 },
  ]);
  // The first batch is the interval's info line; the next, within it, is at debug.
  const batch = records.find((r) => r.rawMessage === "Projector batch processed");
  assert.equal(batch?.level, "info");
  projector.apply([mutation("a", { n: 3 })]);
  const debug = records.filter((r) =>
    r.rawMessage === "Projector batch processed" && r.level === "debug"
  );
  assert.equal(debug.length, 1);
  assert.deepEqual(debug[0]!.properties.entities, { Token: { mutations: 1, cached: 2, list: 1 } });
});

Deno.test("with debug and trace off, the projector builds no debug or trace record", async () => {
  const records: LogRecord[] = [];
  await using _logging = await configureLogging({
    filter: parseLogFilter("info,pharos.ws=trace"),
    format: "json",
    clock: systemClock,
    sink: (record) => void records.push(record),
  });
  const log = getLogger(["pharos", "projector"]);
  // Counts every record LogTape would build for the projector below info.
  let built = 0;
  const counting = new Proxy(log, {
    get(target, name, receiver) {
      if (name === "debug" || name === "trace") {
        return (...args: unknown[]) => {
          if (target.isEnabledFor(name)) built++;
          return (target[name] as (...a: unknown[]) => void)(...args);
        };
      }
      const value = Reflect.get(target, name, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const { projector, bus } = createTestProjector(stack, { log: counting });
  using _frames = listen(bus, "Token/list");
  for (let i = 0; i < 5; i++) {
    projector.apply([mutation(`k${i}`, { n: i })]);
  }
  assert.equal(built, 0);
  assert.deepEqual(records.filter((r) => r.level === "debug" || r.level === "trace"), []);
  assert.equal(records.filter((r) => r.rawMessage === "Projector batch processed").length, 1);
});

Deno.test("a batch applied inside an event's span carries no span: it sums many events", async () => {
  // Tracing with an active span, as when the pipeline applies a slice while one of its
  // events' spans is current.
  let active: { name: string; traceId: string; spanId: string } | undefined;
  const tracing: Tracing = {
    ...noopTracing,
    activeSpan: () => active,
    detached<T>(fn: () => T): T {
      const saved = active;
      active = undefined;
      try {
        return fn();
      } finally {
        active = saved;
      }
    },
  };
  const records: SpanRecord[] = [];
  await using _logging = await configureLogging({
    filter: parseLogFilter("debug"),
    format: "json",
    clock: systemClock,
    sink: (record) => void records.push(record),
    currentSpan: () => active,
  });
  const telemetry = createRecordingTelemetry();
  const projector = createProjector({
    stack,
    bus: createMemoryBus({ onListenerError: (_topic, error) => assert.fail(String(error)) }),
    clock: new FakeClock(),
    log: getLogger(["pharos", "projector"]),
    telemetry: telemetry.projector,
    tracing,
    paths: createPathCache({ telemetry: telemetry.vm }),
  });
  active = { name: "vm.process_event", traceId: "1".repeat(32), spanId: "2".repeat(16) };
  projector.apply([mutation("b", { n: 1 })]);
  active = undefined;
  const lines = records.filter((r) => r.rawMessage === "Projector batch processed");
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.span, undefined, "no event's context on the batch line");
  assert.equal(lines[0]!.properties.batches_since_last, 1);
});
