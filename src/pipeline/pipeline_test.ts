import assert from "node:assert/strict";
import { configure, type LogLevel, type LogRecord, reset } from "@logtape/logtape";
import { createMemoryBus } from "../bus/mod.ts";
import { getLogger } from "../log/mod.ts";
import { createProjector } from "../projector/mod.ts";
import { defineStack, demoStack, type PharosEvent, type Stack } from "../stack/mod.ts";
import { createPathCache, createVm, type Vm } from "../vm/mod.ts";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { ManualSource, transfer } from "../../tests/fakes/manual_source.ts";
import { recordLogs } from "../../tests/fakes/recording_log.ts";
import { createRecordingTelemetry } from "../../tests/fakes/recording_telemetry.ts";
import { createRecordingTracing } from "../../tests/fakes/recording_tracing.ts";
import { createPipeline, type PipelineOptions } from "./mod.ts";
import { nextTurn, until } from "../../tests/wait.ts";

const decoder = new TextDecoder();

/** A per-event span tree for every event (the default samples 1 % of untraced events). */
const EVERY_EVENT = { eventRatio: 1, eventsPerSecond: 1000, batchesPerSecond: 10 };

/** A pipeline over fakes: FakeClock, ManualSources, a memory bus, recording telemetry. */
function setup(
  options: Partial<PipelineOptions> & {
    stack?: Stack;
    exporting?: boolean;
    sampled?: (name: string) => boolean;
    names?: string[];
  } = {},
) {
  const clock = options.clock instanceof FakeClock ? options.clock : new FakeClock();
  const stack = options.stack ?? demoStack;
  const tracing = createRecordingTracing(options.exporting ?? false, options.sampled);
  const telemetry = { ...createRecordingTelemetry(), tracing };
  const bus = createMemoryBus({ onListenerError: (_topic, error) => assert.fail(String(error)) });
  const realVm = createVm({ stack, clock, telemetry: telemetry.vm });
  const batches: { size: number; from: number }[] = [];
  const vm: Vm = {
    ...realVm,
    processBatch(events, batchOptions) {
      batches.push({ size: events.length, from: batchOptions?.from ?? 0 });
      return realVm.processBatch(events, batchOptions);
    },
  };
  const log = options.log ?? getLogger(["pharos"]);
  const projector = createProjector({
    stack,
    bus,
    clock,
    log: log.getChild("projector"),
    telemetry: telemetry.projector,
    tracing,
    paths: createPathCache({ telemetry: telemetry.vm }),
  });
  const sources = (options.names ?? ["a"]).map((name) => new ManualSource(name));
  const pipeline = createPipeline({
    stack,
    sources,
    vm,
    projector,
    clock,
    log,
    telemetry,
    ...options,
  });
  /** Frames published on `view`, decoded. */
  function listen(view: string): Record<string, unknown>[] {
    const frames: Record<string, unknown>[] = [];
    bus.subscribe(view, (message) => frames.push(JSON.parse(decoder.decode(message.bytes))));
    return frames;
  }
  return {
    clock,
    telemetry,
    tracing,
    bus,
    vm: realVm,
    projector,
    pipeline,
    sources,
    batches,
    listen,
  };
}

Deno.test("pipeline: order, cursors and batches", async (t) => {
  await t.step("events from every source apply in arrival order, one _seq each", async () => {
    const { pipeline, sources: [a, b], listen, telemetry } = setup({ names: ["a", "b"] });
    const frames = listen("Token/list");
    await pipeline.start();
    assert.equal(a!.offer(transfer("m1", 10), transfer("m2", 10)), true);
    await b!.emit(transfer("m1", 11));
    await until(() => frames.length === 3, "three frames");
    assert.deepEqual(frames.map((f) => [f.key, f.seq]), [
      ["m1", "10:000000000000"],
      ["m2", "10:000000000001"],
      ["m1", "11:000000000000"],
    ]);
    assert.equal(telemetry.count("sources.eventReceived", "a"), 2, "counted once per offer");
    assert.equal(telemetry.count("sources.eventReceived", "b"), 1);
    await pipeline.stop();
  });

  await t.step("an offer that does not fit is refused whole; none of it is applied", async () => {
    const { pipeline, sources: [a], vm } = setup({ capacity: 3 });
    await pipeline.start();
    const events = [1, 2, 3, 4].map((n) => transfer(`m${n}`, n));
    assert.equal(a!.offer(...events), false);
    assert.equal(pipeline.intake.pending, 0);
    await pipeline.stop();
    assert.equal(vm.state("Token", "m1"), undefined);
  });

  await t.step("batches take what is queued, bounded by count and by fan-out", async () => {
    const { pipeline, sources: [a], batches, listen, telemetry } = setup({
      maxBatchEvents: 3,
      maxBatchFrames: 4,
    });
    await pipeline.start();
    a!.offer(...[1, 2, 3, 4, 5].map((n) => transfer(`m${n}`, n)));
    await until(() => pipeline.intake.pending === 0 && batches.length === 2, "two batches");
    assert.deepEqual(batches.map((b) => b.size), [3, 2]);
    assert.equal(telemetry.count("projector.batchDone"), 2, "each batch is the projector's");
    // Two listeners on Token/list: each event fans out to 2 frames, so 4 frames = 2 events.
    listen("Token/list");
    listen("Token/list");
    a!.offer(...[6, 7, 8, 9].map((n) => transfer(`m${n}`, n)));
    await until(() => batches.length === 4, "two more batches");
    assert.deepEqual(batches.slice(2).map((b) => b.size), [2, 2]);
    await pipeline.stop();
  });

  await t.step(
    "a batch runs in slices of handler time, each published before the next",
    async () => {
      const clock = new FakeClock();
      const slowStack = defineStack({
        name: "slow",
        entities: {
          Doc: {
            handlers: {
              Put: (_state, event) => {
                clock.busy(1); // 1 ms of handler time per event
                return { n: event.data.n };
              },
            },
          },
        },
      });
      const { pipeline, sources: [a], batches, listen } = setup({
        stack: slowStack,
        clock,
        sliceMs: 2,
      });
      const frames = listen("Doc/list");
      await pipeline.start();
      const put = (n: number): PharosEvent => ({ type: "Put", key: `k${n}`, data: { n } });
      a!.offer(put(1), put(2), put(3), put(4), put(5));
      await until(() => frames.length === 5, "five frames");
      assert.deepEqual(batches.map((b) => b.from), [0, 2, 4]);
      await pipeline.stop();
    },
  );
});

Deno.test("pipeline: each slice waits for the sockets to take the previous one's frames", async () => {
  let release: () => void = () => {};
  let waits = 0;
  const { pipeline, sources: [a], listen } = setup({
    maxBatchEvents: 2,
    fanoutIdle: () => {
      waits++;
      return new Promise<void>((resolve) => (release = resolve));
    },
  });
  const frames = listen("Token/list");
  await pipeline.start();
  a!.offer(...[1, 2, 3, 4, 5].map((n) => transfer(`m${n}`, n)));
  await until(() => waits === 1, "the first wait");
  // The pipeline is awaiting the fan-out's promise, which only `release` settles: had it
  // gone on regardless, the batch would be out within these turns.
  for (let i = 0; i < 20; i++) await nextTurn();
  assert.equal(frames.length, 0, "held before the first batch until the sockets are free");
  release();
  await until(() => waits === 2, "the second wait");
  assert.equal(frames.length, 2);
  release();
  await until(() => waits === 3, "the third wait");
  assert.equal(frames.length, 4);
  release();
  await until(() => frames.length === 5, "the last frame");
  await pipeline.stop();
});

Deno.test("pipeline: event spans only when exported", async (t) => {
  const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  await t.step("exported: vm.process_event per event, mutation and publish children", async () => {
    const { pipeline, sources: [a], listen, tracing } = setup({
      exporting: true,
      tracing: EVERY_EVENT,
    });
    const frames = listen("Token/list");
    await pipeline.start();
    a!.offer(transfer("m1", 1, 1, { traceparent }), transfer("m2", 2));
    await until(() => frames.length === 2, "two frames");
    const events = tracing.named("vm.process_event");
    assert.equal(events.length, 2);
    assert.deepEqual(events.map((s) => [s.traceparent, s.root, s.ended]), [
      [traceparent, true, true],
      [undefined, true, true],
    ]);
    assert.deepEqual(events[0]!.attributes, {
      "event.type": "Transfer",
      "event.source": "a",
      slot: 1,
    });
    const mutations = tracing.named("projector.mutation");
    assert.deepEqual(mutations.map((s) => s.parent), events);
    const publishes = tracing.named("projector.publish");
    assert.deepEqual(publishes.map((s) => s.parent), mutations);
    assert.deepEqual(publishes[0]!.attributes, { view: "Token/list", mode: "list" });
    await pipeline.stop();
  });

  await t.step("an event span the sampler dropped gets no children", async () => {
    const { pipeline, sources: [a], listen, tracing } = setup({
      exporting: true,
      tracing: EVERY_EVENT,
      sampled: (name) => name !== "vm.process_event",
    });
    const frames = listen("Token/list");
    await pipeline.start();
    a!.offer(transfer("m1", 1), transfer("m2", 2));
    await until(() => frames.length === 2, "two frames");
    assert.equal(tracing.named("vm.process_event").length, 2);
    assert.equal(tracing.named("projector.mutation").length, 0);
    assert.equal(tracing.named("projector.publish").length, 0);
    await pipeline.stop();
  });

  await t.step("not exported: the event path makes no span at all", async () => {
    const { pipeline, sources: [a], listen, tracing } = setup({ exporting: false });
    const frames = listen("Token/list");
    await pipeline.start();
    a!.offer(transfer("m1", 1, 1, { traceparent }), transfer("m2", 2));
    await until(() => frames.length === 2, "two frames");
    const names = new Set(tracing.spans.map((s) => s.name));
    assert.deepEqual([...names].sort(), ["projector", "source"], "only lifecycle spans");
    await pipeline.stop();
  });
});

Deno.test("pipeline: a failing handler is logged, counted and marks its event's span", async () => {
  await using recording = await recordLogs(["pharos"]);
  const failing = defineStack({
    name: "failing",
    entities: {
      Doc: {
        handlers: {
          Put: (_state, event) => {
            if (event.data.n === 2) throw Object.assign(new Error("bad n"), { code: "bad_n" });
            return { n: event.data.n };
          },
        },
      },
    },
  });
  const { pipeline, sources: [a], listen, tracing, telemetry } = setup({
    stack: failing,
    exporting: true,
    tracing: EVERY_EVENT,
    log: recording.log,
  });
  const frames = listen("Doc/list");
  await pipeline.start();
  const put = (n: number): PharosEvent => ({ type: "Put", key: `k${n}`, data: { n } });
  a!.offer(put(1), put(2), put(3));
  await until(() => frames.length === 2, "two frames");
  assert.deepEqual(frames.map((f) => f.key), ["k1", "k3"]);
  assert.equal(telemetry.count("vm.handlerError", "Doc", "bad_n"), 1);
  const spans = tracing.named("vm.process_event");
  assert.deepEqual(spans.map((s) => s.errors.length), [0, 1, 0]);
  assert.equal(spans[1]!.attributes["handler.failures"], 1);
  const warning = recording.at("warning").find((r) => r.properties.code === "bad_n");
  assert.ok(warning, "the failure is logged");
  assert.deepEqual(warning.category, ["pharos", "vm"]);
  await pipeline.stop();
});

Deno.test("pipeline: readiness and the status report", async () => {
  const { pipeline, sources: [a] } = setup({ names: ["a"] });
  assert.equal(pipeline.isReady(), false, "not before start");
  await pipeline.start();
  assert.equal(pipeline.isReady(), true);
  a!.offer(transfer("m1", 1));
  const status = pipeline.status();
  assert.equal(status.status, "Connected");
  assert.equal(status.stack, "tokens");
  assert.deepEqual(status.sources.map((s) => s.name), ["a"]);
  assert.equal(status.pipeline.capacity, 10_000);
  await pipeline.stop();
  assert.equal(pipeline.isReady(), false, "not while draining");
  assert.equal(pipeline.status().draining, true);
  assert.equal(a!.stopped, true);
  assert.equal(pipeline.intake.offer("a", [transfer("m2", 2)]), false, "closed");
});

Deno.test("pipeline: per-run timings and trace lines only while trace is on", async (t) => {
  const records: LogRecord[] = [];
  /** LogTape at `level` for everything under `pharos`, recording what passes. */
  const logAt = (level: LogLevel) =>
    configure({
      reset: true,
      sinks: { memory: (record: LogRecord) => void records.push(record) },
      loggers: [
        { category: ["pharos"], lowestLevel: level, sinks: ["memory"] },
        { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
      ],
    });
  const asked: (boolean | undefined)[] = [];
  const clock = new FakeClock();
  const realVm = createVm({ stack: demoStack, clock, telemetry: createRecordingTelemetry().vm });
  const vm: Vm = {
    ...realVm,
    processBatch(events, batchOptions) {
      asked.push(batchOptions?.runs);
      return realVm.processBatch(events, batchOptions);
    },
  };
  const { pipeline, sources: [a] } = setup({ clock, vm });
  await pipeline.start();
  const lines = (level: LogLevel, target: string) =>
    records.filter((r) => r.level === level && r.category.join(".") === target);
  try {
    await t.step("at info: nothing timed per run, no debug or trace line", async () => {
      await logAt("info");
      a!.offer(transfer("m1", 1), transfer("m2", 1));
      await until(() => realVm.state("Token", "m2") !== undefined, "the batch");
      assert.deepEqual(asked, [false]);
      assert.deepEqual(records.filter((r) => r.level === "debug" || r.level === "trace"), []);
    });
    await t.step(
      "at trace: runs asked for, each run, mutation and source event logged",
      async () => {
        await logAt("trace");
        a!.offer(transfer("m3", 2), transfer("m4", 2));
        await until(() => realVm.state("Token", "m4") !== undefined, "the batch");
        assert.deepEqual(asked, [false, true]);
        const [slice] = lines("debug", "pharos.vm");
        assert.deepEqual(
          [slice?.properties.events, slice?.properties.mutations, slice?.properties.failures],
          [2, 2, 0],
        );
        const runs = lines("trace", "pharos.vm").filter((r) =>
          r.properties.duration_ms !== undefined
        );
        assert.deepEqual(runs.map((r) => [r.properties.handler, r.properties.key]), [
          ["Transfer", "m3"],
          ["Transfer", "m4"],
        ]);
        const mutations = lines("trace", "pharos.vm").filter((r) => r.properties.seq !== undefined);
        assert.deepEqual(mutations.map((r) => r.properties.seq), [
          "2:000000000000",
          "2:000000000001",
        ]);
        // ManualSource's kind is "manual": its own target, named by kind.
        const events = lines("trace", "pharos.sources.manual");
        assert.deepEqual(events.map((r) => [r.properties.source, r.properties.slot]), [
          ["a", 2],
          ["a", 2],
        ]);
      },
    );
  } finally {
    await pipeline.stop();
    await reset();
  }
});
