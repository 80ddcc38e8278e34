import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { createRecordingTelemetry } from "../../tests/fakes/recording_telemetry.ts";
import {
  defineStack,
  type EntityDefinition,
  type Handler,
  type PharosEvent,
} from "../stack/mod.ts";
import { createVm, HandlerTimeoutError, type VmOptions } from "./mod.ts";

/** A one-entity stack (`Item`, keyed by `event.key`) whose `Set` event runs `handler`. */
function setup(
  handler: Handler,
  options: Partial<VmOptions> = {},
  extra: Partial<EntityDefinition> = {},
) {
  const clock = new FakeClock();
  const telemetry = createRecordingTelemetry();
  const stack = defineStack({
    name: "test",
    entities: {
      Item: {
        handlers: { Set: handler, Echo: (_state, event) => ({ ...event.data }) },
        append: ["log"],
        ...extra,
      },
    },
  });
  const vm = createVm({ stack, clock, telemetry: telemetry.vm, ...options });
  return { clock, telemetry, vm };
}

function event(key: string, data: Record<string, unknown> = {}, extra: Partial<PharosEvent> = {}) {
  return { type: "Set", key, data, ...extra } satisfies PharosEvent;
}

const echo: Handler = (_state, event) => ({ ...event.data });

Deno.test("createVm", async (t) => {
  await t.step(
    "merges handler patches into the entity state and emits wire mutations",
    async () => {
      const { vm } = setup(echo);
      await vm.process(event("a", { n: 1, nested: { x: 1 }, log: [1] }));
      const result = await vm.process(event("a", { nested: { y: 2 }, log: [2], big: 2n ** 60n }));
      assert.deepEqual(vm.state("Item", "a"), {
        n: 1,
        nested: { x: 1, y: 2 },
        log: [1, 2],
        big: 2n ** 60n,
      });
      assert.deepEqual(result.failures, []);
      assert.deepEqual(result.mutations, [{
        entity: "Item",
        key: "a",
        patch: { nested: { y: 2 }, log: [2], big: "1152921504606846976" },
        append: ["log"],
      }]);
    },
  );

  await t.step("the handler receives the current state, the event and its key", async () => {
    const seen: unknown[] = [];
    const { vm } = setup((state, event, context) => {
      seen.push([state === undefined ? undefined : { ...state }, event.data, context.key]);
      return { count: ((state?.count as number | undefined) ?? 0) + 1 };
    });
    await vm.process(event("a", { first: true }));
    await vm.process(event("a"));
    assert.deepEqual(seen, [[undefined, { first: true }, "a"], [{ count: 1 }, {}, "a"]]);
  });

  await t.step("an event with a slot gives the patch _seq and the mutation seq", async () => {
    const { vm } = setup(echo);
    const explicit = await vm.process(event("a", { v: 1 }, { slot: 100, index: 42 }));
    assert.equal(explicit.mutations[0]!.seq, "100:000000000042");
    assert.equal(explicit.mutations[0]!.patch._seq, "100:000000000042");
    // Without an index, arrival order within the slot continues after the highest seen.
    const next = await vm.process(event("b", {}, { slot: 100 }));
    assert.equal(next.mutations[0]!.seq, "100:000000000043");
    const newSlot = await vm.process(event("a", {}, { slot: 101 }));
    const second = await vm.process(event("a", {}, { slot: 101 }));
    assert.equal(newSlot.mutations[0]!.seq, "101:000000000000");
    assert.equal(second.mutations[0]!.seq, "101:000000000001");
    const noSlot = await vm.process(event("a", { v: 2 }));
    assert.equal(noSlot.mutations[0]!.seq, undefined);
    assert.equal("seq" in noSlot.mutations[0]!, false);
    assert.equal(noSlot.mutations[0]!.patch._seq, undefined);
  });

  await t.step("a throwing handler is counted by code and the next event still runs", async () => {
    const { vm, telemetry } = setup((_state, event) => {
      if (event.data.fail === "code") throw Object.assign(new Error("no"), { code: "E_NOPE" });
      if (event.data.fail === "name") throw new RangeError("out of range");
      if (event.data.fail === "value") throw "a string";
      return { ok: true };
    });
    const failed = await vm.process(event("a", { fail: "code" }));
    assert.deepEqual(failed.mutations, []);
    assert.equal(failed.failures.length, 1);
    assert.equal(failed.failures[0]!.code, "E_NOPE");
    assert.equal(failed.failures[0]!.handler, "Set");
    assert.equal(failed.failures[0]!.entity, "Item");
    await vm.process(event("a", { fail: "name" }));
    await vm.process(event("a", { fail: "value" }));
    assert.equal(telemetry.count("vm.handlerError", "Item", "E_NOPE"), 1);
    assert.equal(telemetry.count("vm.handlerError", "Item", "RangeError"), 1);
    assert.equal(telemetry.count("vm.handlerError", "Item", "unknown"), 1);
    const ok = await vm.process(event("a"));
    assert.equal(ok.mutations.length, 1);
    assert.deepEqual(vm.state("Item", "a"), { ok: true });
  });

  await t.step("an async handler over its budget is cancelled and its signal aborted", async () => {
    let signal: AbortSignal | undefined;
    const { vm, clock, telemetry } = setup((_state, _event, context) => {
      signal = context.signal;
      return new Promise((_resolve, reject) => {
        context.signal.addEventListener("abort", () => reject(context.signal.reason));
      });
    }, { handlerTimeoutMs: 100 });
    const pending = vm.process(event("a"));
    clock.advance(99);
    assert.equal(signal?.aborted, false);
    clock.advance(1);
    const result = await pending;
    assert.equal(signal?.aborted, true);
    assert.ok(signal?.reason instanceof HandlerTimeoutError);
    assert.deepEqual(result.mutations, []);
    assert.equal(result.failures[0]?.code, "timeout");
    assert.equal(telemetry.count("vm.handlerCancelled", "Item", "timeout"), 1);
    assert.equal(telemetry.count("vm.handlerError"), 0);
    assert.equal(vm.state("Item", "a"), undefined);
  });

  await t.step("an async handler that ignores its signal is still cut off", async () => {
    const { vm, clock } = setup(() => new Promise(() => {}), { handlerTimeoutMs: 50 });
    const pending = vm.process(event("a"));
    clock.advance(50);
    assert.equal((await pending).failures[0]?.code, "timeout");
    assert.equal(clock.pendingTimers, 0);
  });

  await t.step("an async handler within budget succeeds and leaves no timer", async () => {
    const { vm, clock } = setup(async () => {
      await Promise.resolve();
      return { done: true };
    });
    const result = await vm.process(event("a"));
    assert.equal(result.mutations.length, 1);
    assert.equal(clock.pendingTimers, 0);
  });

  await t.step("a sync handler that overruns its budget is discarded and counted", async () => {
    const clock = new FakeClock();
    const { vm, telemetry } = setup(() => {
      clock.advance(101); // the handler's own work takes 101 ms of (fake) time
      return { slow: true };
    }, { handlerTimeoutMs: 100, clock });
    const result = await vm.process(event("a"));
    assert.deepEqual(result.mutations, []);
    assert.equal(result.failures[0]?.code, "timeout");
    assert.ok(result.failures[0]?.error instanceof HandlerTimeoutError);
    assert.equal(telemetry.count("vm.handlerCancelled", "Item", "timeout"), 1);
    assert.equal(vm.state("Item", "a"), undefined);
  });

  await t.step(
    "state table evicts the oldest entity, counted; at-capacity reported once",
    async () => {
      const reports: [string, boolean][] = [];
      const recording = createRecordingTelemetry();
      // Inherit every counter from the recording facade, but keep the boolean it drops.
      const vmTelemetry = Object.create(recording.vm, {
        stateTableAtCapacity: {
          value: (entity: string, atCapacity: boolean) => {
            reports.push([entity, atCapacity]);
            recording.vm.stateTableAtCapacity(entity, atCapacity);
          },
        },
      });
      const { vm } = setup(echo, { stateTableSize: 2, telemetry: vmTelemetry });
      const telemetry = recording;
      await vm.process(event("a", { v: 1 }));
      assert.equal(telemetry.count("vm.stateTableAtCapacity"), 0);
      await vm.process(event("b", { v: 2 }));
      assert.equal(telemetry.count("vm.stateTableAtCapacity", "Item"), 1);
      await vm.process(event("c", { v: 3 }));
      await vm.process(event("d", { v: 4 }));
      assert.equal(telemetry.count("vm.stateTableEviction", "Item"), 2);
      assert.equal(vm.state("Item", "a"), undefined);
      assert.equal(vm.state("Item", "b"), undefined);
      assert.deepEqual(vm.state("Item", "d"), { v: 4 });
      // Reported on the transition to full, not again on every event while full.
      assert.deepEqual(reports, [["Item", true]]);
    },
  );

  await t.step("a patch that is not an object is counted as invalid_patch", async () => {
    const { vm, telemetry } = setup((_state, event) => event.data.value as never);
    for (const value of [[1, 2], 42, "text", null]) {
      const result = await vm.process(event("a", { value }));
      assert.deepEqual(result.mutations, [], JSON.stringify(value));
      assert.equal(result.failures[0]?.code, "invalid_patch");
    }
    assert.equal(telemetry.count("vm.handlerError", "Item", "invalid_patch"), 4);
    assert.equal(vm.state("Item", "a"), undefined);
  });

  await t.step("a handler returning undefined changes nothing", async () => {
    const { vm } = setup(() => undefined);
    const result = await vm.process(event("a"));
    assert.deepEqual(result, { mutations: [], failures: [] });
  });

  await t.step("keys containing ':' or empty are rejected", async () => {
    const { vm, telemetry } = setup(echo);
    for (const key of ["a:b", ""]) {
      const result = await vm.process(event(key));
      assert.equal(result.failures[0]?.code, "invalid_key");
    }
    assert.equal(telemetry.count("vm.handlerError", "Item", "invalid_key"), 2);
  });

  await t.step("a key function that throws is counted as key_error; undefined skips", async () => {
    const { vm, telemetry } = setup(echo, {}, {
      key: (event) => {
        if (event.data.boom) throw new Error("bad key");
        return event.data.id as string | undefined;
      },
    });
    assert.equal((await vm.process(event("x", { boom: true }))).failures[0]?.code, "key_error");
    assert.deepEqual(await vm.process(event("x", {})), { mutations: [], failures: [] });
    const ok = await vm.process(event("x", { id: "k1" }));
    assert.equal(ok.mutations[0]?.key, "k1");
    assert.equal(telemetry.count("vm.handlerError", "Item", "key_error"), 1);
  });

  await t.step("events without a handler produce nothing", async () => {
    const { vm } = setup(echo);
    assert.deepEqual(await vm.process({ type: "Unknown", key: "a", data: {} }), {
      mutations: [],
      failures: [],
    });
  });

  await t.step("handler durations are recorded only with functionCallMetrics", async () => {
    const off = setup(echo);
    await off.vm.process(event("a"));
    assert.equal(off.telemetry.count("vm.handlerDuration"), 0);
    const on = setup(echo, { functionCallMetrics: true });
    await on.vm.process(event("a"));
    await on.vm.process({ type: "Echo", key: "a", data: {} });
    assert.equal(on.telemetry.count("vm.handlerDuration", "Item", "Set"), 1);
    assert.equal(on.telemetry.count("vm.handlerDuration", "Item", "Echo"), 1);
  });

  await t.step("its /status handlers section says handlers run inline", () => {
    const { vm } = setup(echo);
    assert.deepEqual(vm.handlersStatus(), { isolation: "inline" });
  });
});

Deno.test("createVm records every handler run only when a batch asks for runs", async () => {
  const clock = new FakeClock();
  const { vm } = setup((_state, event) => {
    clock.advance(Number(event.data.ms));
    if (event.data.fail === true) throw new RangeError("no");
    return { ms: event.data.ms };
  }, { clock });
  const events = [
    event("a", { ms: 3 }),
    { type: "Other", key: "a", data: {} }, // no handler: no run
    event("b", { ms: 5, fail: true }),
  ];
  const quiet = await vm.processBatch(events);
  assert.equal(quiet.runs, undefined, "nothing is kept per run by default");
  const result = await vm.processBatch(events, { runs: true });
  assert.deepEqual(result.runs, [
    { entity: "Item", handler: "Set", event: 0, key: "a", durationMs: 3 },
    { entity: "Item", handler: "Set", event: 2, key: "b", durationMs: 5 },
  ]);
  assert.deepEqual(result.failures.map((f) => [f.event, f.code]), [[2, "RangeError"]]);
});
