import assert from "node:assert/strict";
import { type BusMessage, createMemoryBus } from "./mod.ts";

const message = (key: string): BusMessage => ({ key, bytes: new TextEncoder().encode(key) });

// The behaviour every bus shares is in tests/contract/bus_contract.ts; these steps cover
// what is particular to the in-process bus.
Deno.test("memory bus", async (t) => {
  await t.step("delivers synchronously, in publish order, only to the topic's listeners", () => {
    const bus = createMemoryBus({ onListenerError: () => assert.fail("no listener throws") });
    const got: string[] = [];
    using _a = bus.subscribe("A/list", (m) => got.push(`A:${m.key}`));
    using _b = bus.subscribe("B/list", (m) => got.push(`B:${m.key}`));
    bus.publish("A/list", message("1"));
    bus.publish("A/list", message("2"));
    bus.publish("B/list", message("3"));
    assert.deepEqual(got, ["A:1", "A:2", "B:3"]);
  });

  await t.step(
    "disposing removes the listener and empty topics; double dispose is harmless",
    () => {
      const bus = createMemoryBus({ onListenerError: () => {} });
      const got: string[] = [];
      const first = bus.subscribe("T", (m) => got.push(`first:${m.key}`));
      const second = bus.subscribe("T", (m) => got.push(`second:${m.key}`));
      assert.equal(bus.topicCount, 1);
      first[Symbol.dispose]();
      first[Symbol.dispose]();
      bus.publish("T", message("x"));
      assert.deepEqual(got, ["second:x"]);
      assert.equal(bus.hasSubscribers("T"), true);
      second[Symbol.dispose]();
      assert.equal(bus.hasSubscribers("T"), false);
      assert.equal(bus.topicCount, 0);
      bus.publish("T", message("y"));
      assert.deepEqual(got, ["second:x"]);
    },
  );

  await t.step(
    "the same function subscribed twice gets two deliveries, disposed separately",
    () => {
      const bus = createMemoryBus({ onListenerError: () => {} });
      let calls = 0;
      const listener = () => calls++;
      const one = bus.subscribe("T", listener);
      using _two = bus.subscribe("T", listener);
      bus.publish("T", message("x"));
      assert.equal(calls, 2);
      one[Symbol.dispose]();
      bus.publish("T", message("y"));
      assert.equal(calls, 3);
    },
  );
});
