import assert from "node:assert/strict";
import { configure, getLogger, type LogRecord, reset } from "@logtape/logtape";
import { renderMessage, showsKey } from "./_template.ts";

const render = (value: unknown) =>
  typeof value === "string" ? value : String(JSON.stringify(value));

/** Records as LogTape itself makes them, for `template` with `properties`. */
async function logged(cases: [string, Record<string, unknown>][]): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { keep: (record) => void records.push(record) },
    loggers: [
      { category: ["t"], lowestLevel: "trace", sinks: ["keep"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    for (const [template, properties] of cases) getLogger(["t"]).info(template, properties);
  } finally {
    await reset();
  }
  return records;
}

Deno.test("renderMessage gives the text of LogTape's own message", async (t) => {
  const records = await logged([
    ["Client {client_id} subscribed to {view} (mode: {mode})", {
      client_id: "c1",
      view: "Token/list",
      mode: "list",
    }],
    ["New WebSocket connection from {peer} ({count}/{max} clients)", {
      peer: "127.0.0.1:5000",
      count: 3,
      max: 10,
    }],
    ["no placeholders", { extra: 1 }],
    ["{missing} and {present-key}", { "present-key": { a: [1] } }],
    ["unclosed { brace {view", { view: "v" }],
    ["stray } brace {view}", { view: "v" }],
    ["escaped {{view}} and {view}", { view: "v" }],
    ["nested {user.name} and {list[0]}", { user: { name: "n" }, list: ["x"] }],
    ["all {*}", { a: 1 }],
    ["spaced { view }", { view: "v" }],
    ["{a{b}", { "a{b": "odd" }],
    ["", {}],
  ]);
  for (const record of records) {
    await t.step(JSON.stringify(record.rawMessage), () => {
      assert.equal(renderMessage(record, render), record.message.map(render).join(""));
    });
  }
});

Deno.test("showsKey: only a `{key}` placeholder shows a key", () => {
  assert.ok(showsKey("Client {client_id} left", "client_id"));
  assert.ok(!showsKey("Client {client_id} left", "client"));
  assert.ok(!showsKey("Client client_id left", "client_id"));
});
