import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { createRecentRecords } from "./mod.ts";

function record(level: LogRecord["level"], message: string, code?: string): LogRecord {
  return {
    category: ["pharos", "ws", "server"],
    level,
    message: [message],
    rawMessage: message,
    timestamp: 1_700_000_000_000,
    properties: code === undefined ? {} : { code },
  };
}

Deno.test("recent records keep the last warnings and errors, in order, with a sequence", () => {
  const recent = createRecentRecords(3);
  recent.push(record("info", "ignored"));
  recent.push(record("debug", "ignored"));
  recent.push(record("warning", "w1", "slow-consumer"));
  recent.push(record("error", "e1"));
  recent.push(record("fatal", "f1"));
  recent.push(record("warning", "w2"));
  const all = recent.list();
  assert.deepEqual(all.map((r) => [r.seq, r.level, r.message]), [
    [2, "error", "e1"],
    [3, "fatal", "f1"],
    [4, "warning", "w2"],
  ]);
  assert.equal(all[0]!.target, "pharos.ws.server");
  assert.deepEqual(recent.list(3).map((r) => r.message), ["w2"], "those after a seq");
  const first = createRecentRecords();
  first.push(record("warning", "w", "slow-consumer"));
  assert.equal(first.list()[0]!.code, "slow-consumer");
});
