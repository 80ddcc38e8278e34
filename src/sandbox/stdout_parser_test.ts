import assert from "node:assert/strict";
import type { HostMessage } from "./protocol.ts";
import { StdoutParser } from "./stdout_parser.ts";

const encoder = new TextEncoder();

function parser() {
  const messages: HostMessage[] = [];
  return { messages, parser: new StdoutParser((message) => messages.push(message)) };
}

Deno.test("StdoutParser", async (t) => {
  await t.step("counts marks and hands on messages, in order", () => {
    const { messages, parser: p } = parser();
    const done = JSON.stringify({ t: "done", id: 1, next: 2, m: [], f: [] });
    assert.equal(p.feed(encoder.encode(`\u0001\u0001\u0001${done}\n\u0001`)), true);
    assert.equal(p.marks, 4);
    assert.deepEqual(messages.map((m) => m.t), ["done"]);
  });

  await t.step("joins a message split across chunks, marks arriving alone", () => {
    const { messages, parser: p } = parser();
    const line = encoder.encode(JSON.stringify({ t: "fatal", message: "x".repeat(5000) }) + "\n");
    assert.equal(p.feed(new Uint8Array([1, 1])), true);
    assert.equal(p.feed(line.subarray(0, 10)), true);
    assert.equal(p.feed(line.subarray(10, 4000)), true);
    assert.equal(p.feed(line.subarray(4000)), true);
    assert.equal(p.marks, 2);
    assert.equal(messages.length, 1);
    assert.equal((messages[0] as { message: string }).message.length, 5000);
  });

  await t.step("stray output (guest code writing to stdout) is a protocol error", () => {
    const { messages, parser: p } = parser();
    assert.equal(p.feed(encoder.encode("hello from a handler\n")), false);
    assert.match(p.error ?? "", /not a JSON message/);
    assert.equal(messages.length, 0);
  });

  await t.step("a mark inside a message makes it invalid", () => {
    const { parser: p } = parser();
    assert.equal(p.feed(encoder.encode('{"t":"do\u0001ne"}\n')), false);
  });

  await t.step("JSON that is not a message is refused", () => {
    const { parser: p } = parser();
    assert.equal(p.feed(encoder.encode("[1,2]\n")), false);
    assert.match(p.error ?? "", /not a message/);
  });
});
