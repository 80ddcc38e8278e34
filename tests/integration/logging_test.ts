import assert from "node:assert/strict";
import { configure, getConfig, type LogRecord, reset } from "@logtape/logtape";
import { spawnServer } from "../fakes/server_process.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { until } from "../wait.ts";
import { RawWebSocket } from "./_raw_ws.ts";

const LOCAL = { PORT: "0", PHAROS_HOST: "127.0.0.1", PHAROS_DEMO_RATE: "50" };
const TEXT_LINE =
  /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) pharos(\.[A-Za-z0-9_-]+)*: /;

/** Runs a server, connects, subscribes, unsubscribes, disconnects, then stops it. */
async function session(env: Record<string, string>, view = "Token/list"): Promise<string[]> {
  await using server = spawnServer({ ...LOCAL, ...env });
  const port = await server.port;
  const client = await TestClient.connect(`ws://127.0.0.1:${port}`);
  client.send({ type: "subscribe", view });
  client.send({ type: "subscribe", view: "Token/list" });
  await client.waitFor((f) => f.some((x) => x.json.op === "patch"), 5000, "a live patch");
  client.send({ type: "unsubscribe", view: "Token/list" });
  // The unsubscribe logged, and a canonical batch line (one a second at most).
  await until(
    () =>
      /unsubscribed from Token\/list/.test(server.stdout()) &&
      server.stdout().includes("Projector batch processed"),
    "the unsubscribe and a batch line in the log",
  );
  await client[Symbol.asyncDispose]();
  await until(() => /Client \S+ disconnected/.test(server.stdout()), "the disconnect line");
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0, server.stderr());
  return server.stdout().split("\n").filter((line) => line !== "");
}

/** Index of the first line matching `pattern` at or after `from`; fails when absent. */
function find(lines: string[], pattern: RegExp, from = 0): number {
  const at = lines.findIndex((line, i) => i >= from && pattern.test(line));
  assert.ok(at >= 0, `no line matches ${pattern} after line ${from}:\n${lines.join("\n")}`);
  return at;
}

Deno.test("JSON logs: every line parses, with the fields, and the key events in order", async () => {
  const lines = await session({ PHAROS_LOG_FORMAT: "json" });
  const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  for (const record of records) {
    assert.match(String(record.timestamp), /^\d{4}-\d\d-\d\dT.*Z$/);
    assert.match(String(record.level), /^(TRACE|DEBUG|INFO|WARN|ERROR|FATAL)$/);
    assert.match(String(record.target), /^pharos(\.|$)/);
    assert.equal(typeof record.message, "string");
  }
  const messages = records.map((r) => `${r.target}: ${r.message}`);
  let at = find(messages, /^pharos\.runtime: Starting Pharos runtime$/);
  at = find(messages, /^pharos\.health: Health monitoring enabled$/, at);
  at = find(messages, /^pharos\.projector: Projector started$/, at);
  at = find(messages, /^pharos\.ws\.server: WebSocket server listening on 127\.0\.0\.1:\d+$/, at);
  at = find(messages, /^pharos\.sources: Source demo starting \(kind: demo, stream: .+\)$/, at);
  at = find(
    messages,
    /^pharos\.ws: New WebSocket connection from 127\.0\.0\.1:\d+ \(1\/10000 clients\)$/,
    at,
  );
  at = find(
    messages,
    /^pharos\.ws: WebSocket connection established for client [0-9a-f-]{36}$/,
    at,
  );
  at = find(
    messages,
    /^pharos\.ws: Client [0-9a-f-]{36} subscribed to Token\/list \(mode: list\)$/,
    at,
  );
  at = find(messages, /^pharos\.ws: Client [0-9a-f-]{36} unsubscribed from Token\/list$/, at);
  at = find(messages, /^pharos\.ws: Client [0-9a-f-]{36} disconnected$/, at);
  const disconnected = records[at]!;
  // `code` is a string on every line (close codes and error codes alike).
  assert.equal(disconnected.code, "1005", "the client closed without a code");
  assert.equal(typeof disconnected.duration_s, "number");
  const batch = records.find((r) =>
    r.message === "Projector batch processed" && r.level === "INFO"
  );
  assert.ok(batch, "a canonical projector batch line at info");
  for (const field of ["phase", "batch_size", "frames_published", "errors", "duration_ms"]) {
    assert.ok(field in batch, `batch line lacks ${field}`);
  }
  assert.equal(batch.phase, "projector");
});

Deno.test("text logs: every line has the seed's layout", async () => {
  const lines = await session({ PHAROS_LOG: "debug" });
  for (const line of lines) assert.match(line, TEXT_LINE);
  // Made inside the ws.server start-up span, so the line ends with its ids.
  find(
    lines,
    / INFO pharos\.ws\.server: WebSocket server listening on 127\.0\.0\.1:\d+ trace_id=[0-9a-f]{32} span_id=[0-9a-f]{16}$/,
  );
  find(lines, / DEBUG pharos\.projector: Projector batch processed /);
});

Deno.test("a view name with a newline and ANSI escapes cannot forge a log line", async () => {
  // Views may not contain ":" (the protocol refuses them), so the fake line has none.
  const forged = "Token/list\nFORGED ERROR pharos.ws forged\u001b[31m red";
  const lines = await session({ PHAROS_LOG: "debug" }, forged);
  for (const line of lines) {
    assert.match(line, TEXT_LINE);
    assert.ok(!line.includes("\u001b"), `raw escape in: ${line}`);
  }
  const logged = lines[find(lines, /subscribed to unknown view/)]!;
  assert.ok(
    logged.includes("Token/list\\nFORGED ERROR pharos.ws forged\\u001b[31m red"),
  );
  assert.ok(!lines.some((line) => line.startsWith("FORGED")));
});

Deno.test("as a library, Pharos configures no logging: the host's LogTape gets `pharos` records", async () => {
  const { createApp, DEFAULT_CONFIG } = await import("../../src/mod.ts");
  const { getLogger } = await import("../../src/log/mod.ts");
  const { noopTelemetry, randomIds, systemClock } = await import("../../src/mod.ts");
  assert.equal(getConfig(), null, "importing Pharos configured nothing");
  const records: LogRecord[] = [];
  await configure({
    sinks: { host: (record: LogRecord) => void records.push(record) },
    loggers: [
      { category: ["pharos"], lowestLevel: "info", sinks: ["host"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    const app = await createApp({
      config: {
        ...DEFAULT_CONFIG,
        sources: {
          ...DEFAULT_CONFIG.sources,
          demo: { ...DEFAULT_CONFIG.sources.demo, ratePerSecond: 0 },
        },
      },
      clock: systemClock,
      ids: randomIds,
      log: getLogger(["pharos"]),
      telemetry: noopTelemetry,
    });
    await app.start();
    await app.shutdown();
  } finally {
    await reset();
  }
  const messages = records.map((r) => `${r.category.join(".")}: ${r.rawMessage}`);
  assert.ok(messages.includes("pharos.health: Health monitoring enabled"), messages.join("\n"));
  assert.ok(messages.some((m) => m.startsWith("pharos.sources: Source {source} starting")));
});

Deno.test("a client that drops its TCP connection: one info line with why, no warning", async () => {
  await using server = spawnServer({ ...LOCAL, PHAROS_LOG_FORMAT: "json", PHAROS_DEMO_RATE: "0" });
  const port = await server.port;
  const { socket } = await RawWebSocket.open(port);
  await socket.sendText({ type: "subscribe", view: "Token/list" });
  await socket.readFrame(5000); // the subscribed ack
  socket.conn.close(); // no close frame
  await until(() => server.stdout().includes("disconnected"), "the disconnect line");
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0, server.stderr());
  const records = server.stdout().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  assert.deepEqual(records.filter((r) => r.level === "WARN"), [], "no warning");
  const disconnected = records.find((r) => /^Client .* disconnected$/.test(r.message));
  assert.ok(disconnected, server.stdout());
  assert.equal(disconnected.level, "INFO");
  assert.equal(disconnected.code, "1006");
  assert.match(disconnected.reason, /^connection dropped without a close frame: .+/);
});
