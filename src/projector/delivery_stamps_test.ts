import assert from "node:assert/strict";
import { createTestProjector } from "../../tests/fakes/test_projector.ts";
import type { BusMessage } from "../bus/mod.ts";
import { defineStack } from "../stack/mod.ts";
import type { Mutation } from "../vm/mod.ts";

const stack = defineStack({
  name: "test",
  entities: { Token: { handlers: {}, views: { top: { sortBy: "score", order: "desc" } } } },
});

const change = (key: string, score: number): Mutation => ({
  entity: "Token",
  key,
  patch: { score },
  append: [],
});

Deno.test("a batch's frames carry when its oldest event arrived, one stamp per topic", async (t) => {
  const { bus, projector } = createTestProjector(stack);
  const list: BusMessage[] = [];
  const state: BusMessage[] = [];
  const top: BusMessage[] = [];
  using _list = bus.subscribe("Token/list", (frame) => void list.push(frame));
  using _list2 = bus.subscribe("Token/list", () => {});
  using _state = bus.subscribe("Token/state", (frame) => void state.push(frame));
  using topWindow = projector.directory.openWindow("Token/top", { skip: 0, take: 10 });
  using _top = bus.subscribe(topWindow.topic, (frame) => void top.push(frame));

  await t.step("base and derived views: the view's id, the arrival, shared in the batch", () => {
    projector.apply([change("a", 1), change("b", 2)], undefined, { arrivedAt: 1234 });
    assert.equal(list.length, 2);
    const [stamp] = list.map((frame) => frame.stamp);
    assert.ok(stamp !== undefined);
    assert.equal(stamp.view, "Token/list");
    assert.equal(stamp.arrivedAt, 1234);
    assert.equal(list[1]!.stamp, stamp, "one stamp for the batch's frames on the topic");
    assert.notEqual(state[0]!.stamp, stamp, "each topic its own");
    assert.equal(state[0]!.stamp?.view, "Token/state");
    assert.equal(top.length, 2);
    assert.equal(top[0]!.stamp?.view, "Token/top", "a derived window's frames: its view's id");
    assert.equal(top[0]!.stamp?.arrivedAt, 1234);
  });
  await t.step("the next batch, a new stamp", () => {
    projector.apply([change("a", 3)], undefined, { arrivedAt: 2000 });
    assert.notEqual(list[2]!.stamp, list[0]!.stamp);
    assert.equal(list[2]!.stamp?.arrivedAt, 2000);
  });
  await t.step("a batch applied without an arrival: its frames carry none", () => {
    projector.apply([change("c", 4)]);
    assert.equal(list.at(-1)!.stamp, undefined);
    assert.equal(top.at(-1)!.stamp, undefined);
  });
});
