import assert from "node:assert/strict";
import { createTestProjector } from "../../tests/fakes/test_projector.ts";
import { defineStack, rowGroupOf, rowTopic } from "../stack/mod.ts";

const stack = defineStack({
  name: "orders",
  entities: {
    Order: {
      handlers: {},
      views: { top: { sortBy: "amount", order: "desc", take: 2 } },
      rows: [
        { field: "owner", claim: "sub", views: ["list", "state", "top"] },
        { field: "team.id", claim: "team", views: ["append"] },
      ],
    },
  },
});

const decoder = new TextDecoder();
const ALICE = rowGroupOf("alice")!;
const BOB = rowGroupOf("bob")!;

function setup() {
  const { bus, projector } = createTestProjector(stack);
  /** Frames published on `topic`, as `op key` (and the data for upserts), since the last read. */
  const watch = (topic: string) => {
    const seen: string[] = [];
    const subscription = bus.subscribe(topic, (message) => {
      const frame = JSON.parse(decoder.decode(message.bytes));
      seen.push(`${frame.op} ${frame.key}${frame.op === "upsert" ? ` ${frame.data.owner}` : ""}`);
    });
    return { take: () => seen.splice(0), subscription };
  };
  const apply = (key: string, patch: Record<string, unknown>) =>
    projector.apply([{ entity: "Order", key, patch, append: [] }]);
  return { bus, projector, watch, apply };
}

Deno.test("row rules in the projector", async (t) => {
  await t.step("the views describe their rule; /status counts them", () => {
    const { projector } = setup();
    const describe = (view: string) => projector.directory.describe(view)?.rowRule;
    assert.deepEqual(describe("Order/list"), { field: "owner", claim: "sub" });
    assert.deepEqual(describe("Order/top"), { field: "owner", claim: "sub" });
    assert.deepEqual(describe("Order/append"), { field: "team.id", claim: "team" });
    assert.equal(projector.rowRuleCount, 4);
  });

  await t.step("a patch goes to its row's group topic only; nothing on the bare view", () => {
    const { watch, apply } = setup();
    const alice = watch(rowTopic("Order/list", ALICE));
    const bob = watch(rowTopic("Order/list", BOB));
    const bare = watch("Order/list");
    apply("o1", { owner: "alice", status: "open" });
    apply("o1", { status: "paid" });
    assert.deepEqual(alice.take(), ["upsert o1 alice", "patch o1"]);
    assert.deepEqual(bob.take(), []);
    assert.deepEqual(bare.take(), []);
  });

  await t.step(
    "a row changing owner is deleted from one group and upserted whole in the other",
    () => {
      const { watch, apply } = setup();
      apply("o1", { owner: "alice", status: "open", amount: 5 });
      const alice = watch(rowTopic("Order/state", ALICE));
      const bob = watch(rowTopic("Order/state", BOB));
      apply("o1", { owner: "bob" });
      assert.deepEqual(alice.take(), ["delete o1"]);
      assert.deepEqual(bob.take(), ["upsert o1 bob"]);
      apply("o1", { owner: null }); // shown to nobody
      assert.deepEqual(bob.take(), ["delete o1"]);
      assert.deepEqual(alice.take(), []);
    },
  );

  await t.step('values match with strict equality: 42 and "42" are different groups', () => {
    const { watch, apply } = setup();
    const number = watch(rowTopic("Order/list", rowGroupOf(42)!));
    const text = watch(rowTopic("Order/list", rowGroupOf("42")!));
    apply("o1", { owner: 42 });
    assert.deepEqual(number.take(), ["upsert o1 42"]);
    assert.deepEqual(text.take(), []);
    assert.equal(rowGroupOf({}), undefined);
    assert.equal(rowGroupOf(Number.NaN), undefined);
  });

  await t.step("snapshots and resumes give only the query's group, none without one", () => {
    const { projector, apply } = setup();
    apply("a1", { owner: "alice", _seq: "1:000000000000" });
    apply("b1", { owner: "bob", _seq: "2:000000000000" });
    apply("a2", { owner: "alice", _seq: "3:000000000000" });
    const keys = (query: Record<string, string>) =>
      projector.directory.snapshot("Order/list", query).map((entity) => entity.key);
    assert.deepEqual(keys({ group: ALICE }), ["a2", "a1"]);
    assert.deepEqual(keys({ group: BOB }), ["b1"]);
    assert.deepEqual(keys({}), []);
    assert.deepEqual(keys({ group: ALICE, after: "1:000000000000" }), ["a2"]);
    const state = (key: string, group?: string) =>
      projector.directory.snapshot("Order/state", { key, ...(group ? { group } : {}) });
    assert.equal(state("b1", BOB).length, 1);
    assert.deepEqual(state("b1", ALICE), [], "hidden looks like missing");
    assert.deepEqual(state("nope", ALICE), []);
  });

  await t.step("derived windows are per group, and a row moving groups moves windows", () => {
    const { projector, bus, apply } = setup();
    apply("a1", { owner: "alice", amount: 1 });
    apply("a2", { owner: "alice", amount: 2 });
    apply("b1", { owner: "bob", amount: 10 });
    assert.throws(() => projector.directory.openWindow("Order/top", { skip: 0, take: 2 }), /group/);
    using aliceWindow = projector.directory.openWindow("Order/top", {
      skip: 0,
      take: 2,
      group: ALICE,
    });
    using bobWindow = projector.directory.openWindow("Order/top", { skip: 0, take: 2, group: BOB });
    assert.notEqual(aliceWindow.topic, bobWindow.topic);
    assert.deepEqual(aliceWindow.snapshot().map((e) => e.key), ["a2", "a1"]);
    assert.deepEqual(bobWindow.snapshot().map((e) => e.key), ["b1"]);
    const seen = new Map<string, string[]>([[aliceWindow.topic, []], [bobWindow.topic, []]]);
    for (const topic of seen.keys()) {
      bus.subscribe(topic, (m) => {
        const frame = JSON.parse(decoder.decode(m.bytes));
        seen.get(topic)!.push(`${frame.op} ${frame.key}`);
      });
    }
    apply("b1", { owner: "alice" }); // Bob's top order becomes Alice's, and her first
    assert.deepEqual(seen.get(bobWindow.topic), ["delete b1"]);
    assert.deepEqual(seen.get(aliceWindow.topic), ["delete a1", "upsert b1"]);
    assert.deepEqual(aliceWindow.snapshot().map((e) => e.key), ["b1", "a2"]);
    assert.deepEqual(bobWindow.snapshot().map((e) => e.key), []);
  });

  await t.step("a view without a listener in the group costs no encoding of that group", () => {
    const { bus, apply } = setup();
    apply("o1", { owner: "alice" });
    assert.equal(bus.topicCount, 0);
  });
});

Deno.test("a ruled view's fan-out is its last group's listeners", () => {
  const { bus, projector } = createTestProjector(stack);
  using _a = bus.subscribe(rowTopic("Order/list", ALICE), () => {});
  using _b = bus.subscribe(rowTopic("Order/list", ALICE), () => {});
  using _c = bus.subscribe(rowTopic("Order/list", BOB), () => {});
  assert.equal(projector.fanoutOf("Order"), 0, "nothing published yet");
  projector.apply([{ entity: "Order", key: "o1", patch: { owner: "alice" }, append: [] }]);
  assert.equal(projector.fanoutOf("Order"), 2);
  projector.apply([{ entity: "Order", key: "o2", patch: { owner: "bob" }, append: [] }]);
  assert.equal(projector.fanoutOf("Order"), 1);
});

Deno.test("a resume learns of the rows that left its group after its cursor", () => {
  const { projector } = createTestProjector(stack);
  const apply = (key: string, patch: Record<string, unknown>, seq: string) =>
    projector.apply([{ entity: "Order", key, patch: { ...patch, _seq: seq }, append: [], seq }]);
  apply("o1", { owner: "alice" }, "1:000000000000");
  apply("o2", { owner: "alice" }, "2:000000000000");
  apply("o1", { owner: "bob" }, "3:000000000000"); // o1 leaves Alice
  apply("o2", { owner: "bob" }, "4:000000000000"); // o2 too, then comes back
  apply("o2", { owner: "alice" }, "5:000000000000");
  const departed = (group: string, after: string) =>
    projector.directory.departed("Order/list", { group, after }).sort();
  assert.deepEqual(departed(ALICE, "2:000000000000"), ["o1"], "o2 is back: the snapshot has it");
  assert.deepEqual(departed(ALICE, "3:000000000000"), [], "o1 left before the cursor");
  assert.deepEqual(departed(BOB, "1:000000000000"), ["o2"]);
  assert.deepEqual(projector.directory.departed("Order/state", { group: ALICE, after: "0:0" }), []);
});
