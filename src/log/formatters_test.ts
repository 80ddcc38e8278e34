import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { formatJsonRecord, formatTextRecord, type SpanRecord } from "./mod.ts";

const AT = Date.UTC(2024, 0, 15, 10, 30, 45, 123);

function record(
  rawMessage: string,
  properties: Record<string, unknown> = {},
  extra: Partial<SpanRecord> = {},
): SpanRecord {
  // Render the message the way LogTape does: text parts with values interleaved.
  const message: unknown[] = [];
  let last = 0;
  for (const match of rawMessage.matchAll(/\{([^{}]+)\}/g)) {
    message.push(rawMessage.slice(last, match.index), properties[match[1]!]);
    last = match.index! + match[0].length;
  }
  message.push(rawMessage.slice(last));
  return {
    category: ["pharos", "ws", "server"],
    level: "info",
    message,
    rawMessage,
    timestamp: AT,
    properties,
    ...extra,
  } as LogRecord as SpanRecord;
}

const SPAN = {
  name: "ws.connection",
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: "00f067aa0ba902b7",
};

Deno.test("text format", async (t) => {
  await t.step("the seed's layout", () => {
    assert.equal(
      formatTextRecord(record("WebSocket server listening on {address}", { address: "[::]:8877" })),
      "2024-01-15T10:30:45.123Z INFO pharos.ws.server: WebSocket server listening on [::]:8877\n",
    );
  });

  await t.step(
    "fields not in the message follow as key=value; levels as the seed names them",
    () => {
      const line = formatTextRecord(
        record(
          "Client {client_id} disconnected",
          { client_id: "c1", code: "1001", reason: "bye" },
          {
            level: "warning",
          },
        ),
      );
      assert.equal(
        line,
        "2024-01-15T10:30:45.123Z WARN pharos.ws.server: Client c1 disconnected code=1001 reason=bye\n",
      );
    },
  );

  await t.step("inside a span: trace_id and span_id", () => {
    const line = formatTextRecord(record("Projector started", {}, { span: SPAN }));
    assert.match(line, / trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7\n$/);
  });

  await t.step("newlines and escape sequences in values cannot forge a line", () => {
    const view = "Token/list\n2024-01-15T10:30:45.123Z ERROR pharos.ws: forged\u001b[31m";
    const line = formatTextRecord(record("Client subscribed to {view}", { view }));
    assert.equal(line.split("\n").length, 2, "exactly one line");
    assert.ok(!line.includes("\u001b"));
    assert.ok(
      line.includes("Token/list\\n2024-01-15T10:30:45.123Z ERROR pharos.ws: forged\\u001b[31m"),
    );
  });

  await t.step("errors render as name: message; bigints as decimals", () => {
    const line = formatTextRecord(
      record("Failed: {error}", { error: new TypeError("bad"), volume: 2n ** 70n }),
    );
    assert.match(line, /Failed: TypeError: bad volume=1180591620717411303424\n$/);
  });
});

Deno.test("JSON Lines format", async (t) => {
  await t.step("timestamp, level, target, message, then the fields", () => {
    const line = formatJsonRecord(
      record("New WebSocket connection from {peer} ({count}/{max} clients)", {
        peer: "127.0.0.1:5000",
        count: 1,
        max: 10000,
      }),
    );
    assert.ok(line.endsWith("}\n") && line.indexOf("\n") === line.length - 1);
    assert.deepEqual(JSON.parse(line), {
      timestamp: "2024-01-15T10:30:45.123Z",
      level: "INFO",
      target: "pharos.ws.server",
      message: "New WebSocket connection from 127.0.0.1:5000 (1/10000 clients)",
      peer: "127.0.0.1:5000",
      count: 1,
      max: 10000,
    });
  });

  await t.step("inside a span: span name, trace_id and span_id", () => {
    const json = JSON.parse(formatJsonRecord(record("Client subscribed", {}, { span: SPAN })));
    assert.deepEqual(json.span, { name: "ws.connection" });
    assert.equal(json.trace_id, SPAN.traceId);
    assert.equal(json.span_id, SPAN.spanId);
  });

  await t.step("a field cannot overwrite the record's own keys", () => {
    const json = JSON.parse(formatJsonRecord(record("hi", { level: "fake", message: "forged" })));
    assert.equal(json.level, "INFO");
    assert.equal(json.message, "hi");
    assert.equal(json["field.level"], "fake");
    assert.equal(json["field.message"], "forged");
  });

  await t.step("one line whatever the values; bigints and errors survive", () => {
    const line = formatJsonRecord(
      record("{view}", { view: "a\nb\u001b[2J", volume: 2n ** 64n, error: new RangeError("x") }),
    );
    assert.equal(line.split("\n").length, 2);
    const json = JSON.parse(line);
    assert.equal(json.message, "a\nb\u001b[2J");
    assert.equal(json.volume, "18446744073709551616");
    assert.equal(json.error, "RangeError: x");
  });
});
