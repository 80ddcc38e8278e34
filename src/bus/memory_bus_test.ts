import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { recordLogs } from "../../tests/fakes/recording_log.ts";
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

Deno.test("memory bus logs topics at debug and each publish at trace, under pharos.bus", async (t) => {
  await t.step("debug: a topic opened and removed, with the topic count", async () => {
    await using logs = await recordLogs(["pharos", "bus"]);
    const bus = createMemoryBus({ onListenerError: () => {}, log: logs.log });
    const a = bus.subscribe("Token/list", () => {});
    const b = bus.subscribe("Token/list", () => {}); // the topic exists: no line
    using _other = bus.subscribe("Token/state", () => {});
    a[Symbol.dispose]();
    b[Symbol.dispose]();
    bus.publish("Token/state", message("k"));
    assert.deepEqual(logs.at("debug").map((r) => r.properties), [
      { topic: "Token/list", topics: 1 },
      { topic: "Token/state", topics: 2 },
      { topic: "Token/list", topics: 1 },
    ]);
    assert.match(logs.text(), /Topic Token\/list opened/);
    assert.match(logs.text(), /Topic Token\/list removed: no listeners left/);
    assert.deepEqual(logs.at("trace"), [], "recordLogs records from debug: no trace lines");
  });

  await t.step("trace: every publish, with its listeners (none too)", async () => {
    await using recorded = await recordLogs(["pharos", "bus"], "trace");
    const bus = createMemoryBus({ onListenerError: () => {}, log: getLogger(["pharos", "bus"]) });
    using _a = bus.subscribe("Token/list", () => {});
    using _b = bus.subscribe("Token/list", () => {});
    bus.publish("Token/list", message("abc"));
    bus.publish("Nobody/list", message("x"));
    const traced = recorded.records.filter((r) => r.level === "trace");
    assert.deepEqual(traced.map((r) => r.properties), [
      { topic: "Token/list", key: "abc", bytes: 3, listeners: 2 },
      { topic: "Nobody/list", key: "x", bytes: 1, listeners: 0 },
    ]);
    assert.deepEqual(traced[0]!.message, ["Published to ", "Token/list", ": ", 2, " listeners"]);
  });

  await t.step("at info nothing is logged, and levels are read once, at creation", async () => {
    await using recorded = await recordLogs(["pharos", "bus"], "info");
    const logger = getLogger(["pharos", "bus"]);
    let checks = 0;
    const log = {
      isEnabledFor: (level: "debug" | "trace") => (checks++, logger.isEnabledFor(level)),
      debug: logger.debug.bind(logger),
      trace: logger.trace.bind(logger),
    };
    const bus = createMemoryBus({ onListenerError: () => {}, log });
    const checksAtCreation = checks;
    const sub = bus.subscribe("Token/list", () => {});
    for (let i = 0; i < 3; i++) bus.publish("Token/list", message(String(i)));
    sub[Symbol.dispose]();
    assert.deepEqual(recorded.records, []);
    assert.equal(checks, checksAtCreation, "no level check per publish or topic");
  });
});
