import assert from "node:assert/strict";
import { createTestProjector } from "../../tests/fakes/test_projector.ts";
import { MemoryTransport } from "../../tests/fakes/memory_transport.ts";
import { parseLogFilter } from "../log/mod.ts";
import { configureLogging, getLogger, type Logger, type LogRecord } from "../log/mod.ts";
import { defineStack } from "../stack/mod.ts";
import { systemClock } from "../util/mod.ts";
import { DEFAULT_SESSION_LIMITS, Session } from "./mod.ts";

const stack = defineStack({
  name: "test",
  entities: {
    Token: { handlers: {}, views: { latest: { sortBy: "n", order: "desc", take: 2 } } },
  },
});

/** `log`, counting every debug and trace call made through it (enabled or not). */
function counting(log: Logger): { log: Logger; calls: { debug: number; trace: number } } {
  const calls = { debug: 0, trace: 0 };
  const proxy = new Proxy(log, {
    get(target, name) {
      if (name === "debug" || name === "trace") {
        return (...args: unknown[]) => {
          calls[name]++;
          return (target[name] as (...a: unknown[]) => void)(...args);
        };
      }
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { log: proxy, calls };
}

async function run(spec: string) {
  const records: LogRecord[] = [];
  const logging = await configureLogging({
    filter: parseLogFilter(spec),
    format: "json",
    clock: systemClock,
    sink: (record) => void records.push(record),
  });
  const fixture = createTestProjector(stack);
  const { log, calls } = counting(getLogger(["pharos", "ws"]));
  const transport = new MemoryTransport();
  const session = new Session({
    id: "c1",
    peer: "127.0.0.1:1",
    transport,
    directory: fixture.projector.directory,
    bus: fixture.bus,
    clock: fixture.clock,
    log,
    telemetry: fixture.telemetry.ws,
    limits: DEFAULT_SESSION_LIMITS,
  });
  session.receive(JSON.stringify({ type: "subscribe", view: "Token/list", withSnapshot: false }));
  session.receive(JSON.stringify({ type: "subscribe", view: "Token/latest", take: 2 }));
  const before = { ...calls };
  for (let i = 0; i < 50; i++) {
    fixture.projector.apply([{ entity: "Token", key: `k${i}`, patch: { n: i }, append: [] }]);
  }
  const hot = { debug: calls.debug - before.debug, trace: calls.trace - before.trace };
  session.close(1000, "done");
  await logging[Symbol.asyncDispose]();
  return { records, hot, frames: transport.sent.length };
}

Deno.test("session logs: nothing on the send path unless trace is on", async (t) => {
  await t.step("info: live frames make no debug or trace call at all", async () => {
    const { records, hot } = await run("info");
    assert.deepEqual(hot, { debug: 0, trace: 0 });
    assert.ok(records.every((r) => r.level !== "debug" && r.level !== "trace"));
  });

  await t.step("debug: still no call per frame (frames are trace)", async () => {
    const { records, hot } = await run("info,pharos.ws=debug");
    assert.deepEqual(hot, { debug: 0, trace: 0 });
    const closing = records.find((r) => String(r.rawMessage).startsWith("Closing client"));
    assert.deepEqual(closing?.properties, {
      client_id: "c1",
      code: "1000",
      reason: "done",
      subscriptions: 2,
      queued: 0,
      queued_bytes: 0,
    });
  });

  await t.step("trace: one line per frame, with view, op, key and bytes", async () => {
    const { records, frames } = await run("info,pharos.ws=trace");
    const lines = records.filter((r) => r.level === "trace").map((r) => r.properties);
    assert.equal(lines.length, frames, "one line per frame sent");
    assert.deepEqual(lines[0], {
      client_id: "c1",
      view: "Token/list",
      op: "subscribed",
      bytes: 94,
    });
    const patch = lines.find((l) => l.op === "patch");
    assert.deepEqual(Object.keys(patch ?? {}), ["client_id", "view", "op", "key", "bytes"]);
    assert.ok(lines.some((l) => l.view === "Token/latest" && l.op === "upsert"));
    assert.ok(lines.some((l) => l.view === "Token/latest" && l.op === "delete"));
  });
});
