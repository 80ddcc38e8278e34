/**
 * The rules every {@link Bus} backend must follow. A backend's test file calls
 * `runBusContract("name", createBus)`; the in-memory bus runs it in `memory_bus_test.ts`.
 * @module
 */
import assert from "node:assert/strict";
import type { Bus, BusMessage } from "../../src/bus/mod.ts";
import { until } from "../wait.ts";

/** Options every bus backend under test accepts. */
export interface BusContractOptions {
  readonly onListenerError: (topic: string, error: unknown) => void;
}

/** Creates a fresh, empty bus for one step; may be async for networked backends. */
export type CreateBus = (options: BusContractOptions) => Bus | Promise<Bus>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function message(key: string, body = key): BusMessage {
  return { key, bytes: encoder.encode(body) };
}

/** Registers the bus contract suite as one `Deno.test` named after the backend. */
export function runBusContract(name: string, createBus: CreateBus): void {
  Deno.test(`bus contract: ${name}`, async (t) => {
    const noErrors: BusContractOptions = {
      onListenerError: (topic, error) => assert.fail(`listener on ${topic} failed: ${error}`),
    };

    await t.step("delivers every message of a topic in publish order, bytes intact", async () => {
      const bus = await createBus(noErrors);
      const got: { key: string; body: string }[] = [];
      using _ = bus.subscribe(
        "Token/list",
        (m) => got.push({ key: m.key, body: decoder.decode(m.bytes) }),
      );
      for (let i = 0; i < 20; i++) bus.publish("Token/list", message(`k${i}`, `{"n":${i}}`));
      await until(() => got.length === 20, "20 messages");
      assert.deepEqual(got.map((m) => m.key), Array.from({ length: 20 }, (_, i) => `k${i}`));
      assert.equal(got[7]!.body, '{"n":7}');
    });

    await t.step("topics are isolated and every listener of a topic receives", async () => {
      const bus = await createBus(noErrors);
      const a: string[] = [];
      const b: string[] = [];
      const other: string[] = [];
      using _a = bus.subscribe("T", (m) => a.push(m.key));
      using _b = bus.subscribe("T", (m) => b.push(m.key));
      using _o = bus.subscribe("U", (m) => other.push(m.key));
      bus.publish("T", message("1"));
      bus.publish("U", message("2"));
      await until(() => a.length === 1 && b.length === 1 && other.length === 1, "delivery");
      assert.deepEqual([a, b, other], [["1"], ["1"], ["2"]]);
    });

    await t.step("a disposed listener receives nothing more; others keep receiving", async () => {
      const bus = await createBus(noErrors);
      const gone: string[] = [];
      const kept: string[] = [];
      const subscription = bus.subscribe("T", (m) => gone.push(m.key));
      using _ = bus.subscribe("T", (m) => kept.push(m.key));
      bus.publish("T", message("before"));
      await until(() => gone.length === 1 && kept.length === 1, "first delivery");
      subscription[Symbol.dispose]();
      bus.publish("T", message("after"));
      await until(() => kept.length === 2, "second delivery");
      assert.deepEqual(gone, ["before"]);
      assert.deepEqual(kept, ["before", "after"]);
    });

    await t.step("hasSubscribers and topicCount follow subscribe and dispose", async () => {
      const bus = await createBus(noErrors);
      assert.equal(bus.hasSubscribers("T"), false);
      assert.equal(bus.topicCount, 0);
      const one = bus.subscribe("T", () => {});
      const two = bus.subscribe("T", () => {});
      const three = bus.subscribe("U", () => {});
      assert.equal(bus.hasSubscribers("T"), true);
      assert.equal(bus.topicCount, 2);
      one[Symbol.dispose]();
      assert.equal(bus.hasSubscribers("T"), true, "one listener is left on T");
      assert.equal(bus.listenerCount("T"), 1);
      two[Symbol.dispose]();
      assert.equal(bus.hasSubscribers("T"), false);
      assert.equal(bus.topicCount, 1);
      three[Symbol.dispose]();
      assert.equal(bus.topicCount, 0);
    });

    await t.step("publishing to a topic nobody listens on is a no-op", async () => {
      const bus = await createBus(noErrors);
      bus.publish("nobody", message("x"));
      assert.equal(bus.topicCount, 0);
    });

    await t.step("a throwing listener is reported and does not stop the others", async () => {
      const errors: [string, unknown][] = [];
      const bus = await createBus({
        onListenerError: (topic, error) => errors.push([topic, error]),
      });
      const got: string[] = [];
      const boom = new Error("listener failed");
      using _a = bus.subscribe("T", (m) => got.push(`a:${m.key}`));
      using _b = bus.subscribe("T", () => {
        throw boom;
      });
      using _c = bus.subscribe("T", (m) => got.push(`c:${m.key}`));
      bus.publish("T", message("1"));
      bus.publish("T", message("2"));
      await until(() => got.length === 4, "deliveries around the failing listener");
      assert.deepEqual(got, ["a:1", "c:1", "a:2", "c:2"]);
      assert.deepEqual(errors, [["T", boom], ["T", boom]]);
    });
  });
}
