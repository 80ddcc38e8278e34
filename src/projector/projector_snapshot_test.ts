import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { createRecordingTelemetry } from "../../tests/fakes/recording_telemetry.ts";
import { createMemoryBus } from "../bus/mod.ts";
import { getLogger } from "../log/mod.ts";
import { defineStack, toSeq } from "../stack/mod.ts";
import { createPathCache, type Mutation } from "../vm/mod.ts";
import { createProjector } from "./mod.ts";

const stack = defineStack({
  name: "test",
  entities: {
    Token: { handlers: {}, views: { top: { sortBy: "score", order: "desc", take: 5 } } },
  },
});

function setup() {
  const telemetry = createRecordingTelemetry();
  const projector = createProjector({
    stack,
    bus: createMemoryBus({ onListenerError: () => {} }),
    clock: new FakeClock(),
    log: getLogger(["pharos", "test"]),
    telemetry: telemetry.projector,
    paths: createPathCache({ telemetry: telemetry.vm }),
  });
  return projector;
}

function write(key: string, slot?: number): Mutation {
  const seq = slot === undefined ? undefined : toSeq(slot, 0);
  return {
    entity: "Token",
    key,
    patch: seq === undefined ? { key } : { key, _seq: seq },
    append: [],
    ...(seq === undefined ? {} : { seq }),
  };
}

Deno.test("projector directory snapshots", async (t) => {
  // Written in the order a, b, c, d; their _seq order is c < a < b, and d has none.
  const projector = setup();
  projector.apply([write("a", 9), write("b", 10), write("c", 2), write("d")]);
  const { directory } = projector;
  const keys = (view: string, query: Parameters<typeof directory.snapshot>[1]) =>
    directory.snapshot(view, query).map((entity) => entity.key);

  await t.step("describes list, state, append and derived views", () => {
    assert.deepEqual(directory.describe("Token/list"), {
      id: "Token/list",
      entity: "Token",
      mode: "list",
      kind: "list",
      sort: { field: ["_seq"], order: "desc" },
    });
    assert.equal(directory.describe("Token/state")?.sort, undefined);
    assert.equal(directory.describe("Token/state")?.mode, "state");
    assert.equal(directory.describe("Token/append")?.mode, "append");
    const top = directory.describe("Token/top");
    assert.equal(top?.kind, "derived");
    assert.equal(top?.mode, "list");
    assert.deepEqual(top?.sort, { field: ["score"], order: "desc" });
    assert.equal(top?.defaultTake, 5);
    assert.equal(directory.describe("Token/nope"), undefined);
    assert.equal(directory.describe("Nope/list"), undefined);
  });

  await t.step("by default: every cached entity, most recently updated first", () => {
    assert.deepEqual(keys("Token/list", {}), ["d", "c", "b", "a"]);
    assert.deepEqual(keys("Token/append", {}), ["d", "c", "b", "a"]);
    assert.deepEqual(directory.snapshot("Token/list", {})[0], { key: "d", data: { key: "d" } });
  });

  await t.step("snapshotLimit alone: highest _seq first (numerically), cut to N", () => {
    assert.deepEqual(keys("Token/list", { snapshotLimit: 2 }), ["b", "a"]);
    assert.deepEqual(keys("Token/list", { snapshotLimit: 10 }), ["b", "a", "c", "d"]);
    assert.deepEqual(keys("Token/list", { snapshotLimit: 0 }), []);
  });

  await t.step("after: only _seq past the cursor, oldest first, cut to snapshotLimit", () => {
    assert.deepEqual(keys("Token/list", { after: toSeq(2, 0) }), ["a", "b"]);
    assert.deepEqual(keys("Token/list", { after: toSeq(2, 0), snapshotLimit: 1 }), ["a"]);
    assert.deepEqual(keys("Token/list", { after: toSeq(0, 0) }), ["c", "a", "b"]);
    assert.deepEqual(keys("Token/list", { after: toSeq(10, 0) }), []);
  });

  await t.step("the key filter applies after the selection", () => {
    assert.deepEqual(keys("Token/list", { key: "c" }), ["c"]);
    assert.deepEqual(keys("Token/list", { key: "c", after: toSeq(2, 0) }), []);
    assert.deepEqual(keys("Token/list", { key: "c", snapshotLimit: 2 }), []);
    assert.deepEqual(keys("Token/list", { key: "a", snapshotLimit: 2 }), ["a"]);
  });

  await t.step("a state view needs a key and gives at most one entity", () => {
    assert.deepEqual(directory.snapshot("Token/state", {}), []);
    assert.deepEqual(directory.snapshot("Token/state", { key: "b" }), [
      { key: "b", data: { key: "b", _seq: toSeq(10, 0) } },
    ]);
    assert.deepEqual(directory.snapshot("Token/state", { key: "zzz" }), []);
  });

  await t.step("derived and unknown views have no directory snapshot", () => {
    assert.deepEqual(directory.snapshot("Token/top", {}), []);
    assert.deepEqual(directory.snapshot("Token/nope", {}), []);
    assert.throws(() => directory.openWindow("Token/list", { skip: 0, take: 1 }), TypeError);
  });
});
