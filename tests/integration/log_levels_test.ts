/**
 * The debug and trace levels of `pharos.ws` and `pharos.projector` on a real server
 * (README, Logging): one subscription's life read end to end at debug, every frame at
 * trace, a slow client's lines, and nothing below info by default.
 */
import assert from "node:assert/strict";
import { parseLogFilter } from "../../src/log/mod.ts";
import { configureLogging, type LogRecord } from "../../src/log/mod.ts";
import { systemClock } from "../../src/util/mod.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { startTestServer } from "../fakes/test_server.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { docStack, put } from "./_helpers.ts";
import { nextTurn, until } from "../wait.ts";
import { RawWebSocket } from "./_raw_ws.ts";

const LOCAL = { PORT: "0", PHAROS_HOST: "127.0.0.1", PHAROS_LOG_FORMAT: "json" };
/** Distinct demo tokens: enough for a snapshot of two batches (50 + 70). */
const KEYS = 120;

type Line = Record<string, unknown>;

/** Every stdout line of a stopped server, parsed. */
async function stop(server: ReturnType<typeof spawnServer>): Promise<Line[]> {
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0, server.stderr());
  return server.stdout().split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

/** Waits until the server has logged a line matching `pattern`. */
function logged(server: ReturnType<typeof spawnServer>, pattern: RegExp): Promise<void> {
  return until(() => pattern.test(server.stdout()), `a line matching ${pattern}`);
}

/** The one line with `message` (a template's rendering) for `client`; fails unless exactly one. */
function one(lines: Line[], pattern: RegExp, client?: string): Line {
  const found = lines.filter((l) =>
    pattern.test(String(l.message)) && (client === undefined || l.client_id === client)
  );
  assert.equal(found.length, 1, `${found.length} lines match ${pattern}:\n${dump(lines)}`);
  return found[0]!;
}

function dump(lines: Line[]): string {
  return lines.map((l) => JSON.stringify(l)).join("\n").slice(-6000);
}

/** Waits until a client that subscribed without a snapshot has seen every demo token. */
async function waitForTokens(port: number): Promise<void> {
  await using watcher = await TestClient.connect(`ws://127.0.0.1:${port}`);
  watcher.send({ type: "subscribe", view: "Token/list", withSnapshot: false });
  await watcher.waitFor(
    (frames) =>
      new Set(frames.filter((f) => f.json.op === "patch").map((f) => f.json.key)).size >= KEYS,
    15_000,
    `patches for ${KEYS} tokens`,
  );
}

Deno.test("debug: one subscription's life, end to end, with its fields", async () => {
  await using server = spawnServer({
    ...LOCAL,
    PHAROS_LOG: "info,pharos.ws=debug",
    PHAROS_DEMO_RATE: "400",
    PHAROS_DEMO_KEYS: String(KEYS),
  });
  const port = await server.port;
  await waitForTokens(port);

  const client = await TestClient.connect(`ws://127.0.0.1:${port}`);
  client.send({ type: "subscribe", view: "Token/list", snapshotLimit: KEYS, withSnapshot: true });
  client.send({ type: "subscribe", view: "Token/latest", take: 5, skip: 1 });
  await client.waitFor(
    (frames) =>
      frames.some((f) =>
        f.json.op === "snapshot" && f.json.entity === "Token/list" && f.json.complete
      ),
    10_000,
    "the complete Token/list snapshot",
  );
  await client.waitFor((f) => f.some((x) => x.json.op === "patch"), 5000, "a live patch");
  client.send({ type: "unsubscribe", view: "Token/list" });
  await logged(server, /unsubscribed from Token\/list/);
  client.socket.close(4000, "done testing");
  await client.closed;
  await logged(server, /Client \S+ disconnected/);
  const lines = await stop(server);

  // The subscribe request, with the parameters the client gave.
  const asked = lines.find((l) =>
    l.message === "Client " + l.client_id + " asked to subscribe to Token/list" &&
    l.snapshot_limit === KEYS
  );
  assert.ok(asked, `no subscribe request line:\n${dump(lines)}`);
  const id = String(asked.client_id);
  assert.equal(asked.level, "DEBUG");
  assert.equal(asked.target, "pharos.ws");
  assert.equal(asked.view, "Token/list");
  assert.equal(asked.with_snapshot, true);
  const derived = one(lines, /asked to subscribe to Token\/latest$/, id);
  assert.equal(derived.take, 5);
  assert.equal(derived.skip, 1);
  assert.equal(derived.with_snapshot, true);

  // The snapshot: one line for it, one per batch, sizes and times.
  const snapshot = one(
    lines,
    /^Snapshot for client .* on Token\/list: \d+ entities in \d+ batches$/,
    id,
  );
  assert.equal(snapshot.entities, KEYS);
  assert.equal(snapshot.batches, 2);
  assert.equal(typeof snapshot.duration_ms, "number");
  const batches = lines.filter((l) =>
    l.client_id === id &&
    /^Snapshot batch \d\/2 for client .* on Token\/list/.test(String(l.message))
  );
  assert.deepEqual(batches.map((b) => [b.batch, b.batches, b.entities]), [[1, 2, 50], [2, 2, 70]]);
  for (const batch of batches) {
    assert.ok(typeof batch.bytes === "number" && batch.bytes > 0);
    assert.ok(typeof batch.raw_bytes === "number" && batch.raw_bytes >= Number(batch.bytes));
    assert.equal(typeof batch.gzip, "boolean");
    assert.ok(typeof batch.duration_ms === "number" && batch.duration_ms >= 0);
  }

  // Subscribed (info), unsubscribed (info), and how long it lasted (debug).
  one(lines, /subscribed to Token\/list \(mode: list\)$/, id);
  one(lines, /unsubscribed from Token\/list$/, id);
  const ended = one(lines, /^Subscription of client .* to Token\/list ended after [\d.]+ s$/, id);
  assert.equal(typeof ended.duration_s, "number");
  // The derived one ends with the connection.
  const closedWith = one(lines, /to Token\/latest ended after [\d.]+ s: connection closed$/, id);
  assert.equal(closedWith.level, "DEBUG");

  // The close: the client's code and reason; `code` is a string.
  const disconnected = one(lines, /^Client .* disconnected$/, id);
  assert.equal(disconnected.level, "INFO");
  assert.equal(disconnected.code, "4000");
  assert.equal(disconnected.reason, "done testing");

  // The order of the story.
  const order = [asked, snapshot, batches[0], batches[1], ended, closedWith, disconnected]
    .map((line) => lines.indexOf(line!));
  assert.deepEqual(order, [...order].sort((a, b) => a - b), "in the order it happened");

  // Only pharos.ws (and its children) logged below info; no trace at all.
  for (const line of lines) {
    if (line.level === "DEBUG") assert.match(String(line.target), /^pharos\.ws(\.|$)/);
    assert.notEqual(line.level, "TRACE");
  }
});

Deno.test("trace: every frame to a client, with view, op, key and bytes", async () => {
  await using server = spawnServer({
    ...LOCAL,
    PHAROS_LOG: "info,pharos.ws=trace",
    PHAROS_DEMO_RATE: "50",
    PHAROS_DEMO_KEYS: "5",
  });
  const port = await server.port;
  const client = await TestClient.connect(`ws://127.0.0.1:${port}`);
  client.send({ type: "subscribe", view: "Token/list" });
  await client.waitFor((f) => f.filter((x) => x.json.op === "patch").length >= 3, 5000, "patches");
  client.send({ type: "unsubscribe", view: "Token/list" });
  await logged(server, /unsubscribed from Token\/list/);
  const received = [...client.frames];
  await client[Symbol.asyncDispose]();
  await logged(server, /Client \S+ disconnected/);
  const lines = await stop(server);

  const frames = lines.filter((l) =>
    l.level === "TRACE" && String(l.message).startsWith("Frame to client")
  );
  for (const line of frames) {
    assert.equal(line.target, "pharos.ws");
    for (const field of ["client_id", "view", "op", "bytes"]) {
      assert.ok(field in line, `${field} missing: ${JSON.stringify(line)}`);
    }
    // Data frames name their entity's key; replies (subscribed, snapshot, error) have none.
    if (line.op === "patch") assert.equal(typeof line.key, "string");
  }
  assert.equal(frames[0]?.op, "subscribed");
  assert.equal(frames[0]?.view, "Token/list");
  // Every patch the client got has its line, with its key and exact size.
  const patches = received.filter((f) => f.json.op === "patch");
  for (const patch of patches) {
    assert.ok(
      frames.some((l) =>
        l.op === "patch" && l.view === "Token/list" && l.key === patch.json.key &&
        l.bytes === patch.bytes.length
      ),
      `no trace line for the patch of ${patch.json.key} (${patch.bytes.length} bytes)`,
    );
  }
  // Trace is on for pharos.ws only.
  assert.ok(!lines.some((l) => l.level === "TRACE" && !String(l.target).startsWith("pharos.ws")));
  assert.ok(!lines.some((l) => l.level === "DEBUG" && l.target === "pharos.projector"));
});

Deno.test("default info: no debug or trace line at all", async () => {
  await using server = spawnServer({ ...LOCAL, PHAROS_DEMO_RATE: "100" });
  const port = await server.port;
  const client = await TestClient.connect(`ws://127.0.0.1:${port}`);
  client.send({ type: "subscribe", view: "Token/list" });
  client.send({ type: "subscribe", view: "Token/latest", take: 3 });
  await client.waitFor((f) => f.some((x) => x.json.op === "patch"), 5000, "a live patch");
  client.send({ type: "unsubscribe", view: "Token/list" });
  await logged(server, /Projector batch processed/); // at most one a second at info
  await client[Symbol.asyncDispose]();
  await logged(server, /Client \S+ disconnected/);
  const lines = await stop(server);
  assert.ok(lines.some((l) => l.message === "Projector batch processed"), "info lines are there");
  const below = lines.filter((l) => l.level === "DEBUG" || l.level === "TRACE");
  assert.deepEqual(below, [], dump(below));
});

/** About 16 KB per live frame, so a non-reader's socket buffers fill fast. */
const PAYLOAD = "x".repeat(16 * 1024);

Deno.test("a slow client: why it is behind at debug, then the drop at warn", async () => {
  const records: LogRecord[] = [];
  await using _logging = await configureLogging({
    filter: parseLogFilter("info,pharos.ws=debug"),
    format: "json",
    clock: systemClock,
    sink: (record) => void records.push(record),
  });
  await using server = await startTestServer({
    stack: docStack,
    env: { PHAROS_QUEUE_FRAMES: "16", PHAROS_QUEUE_BYTES: String(4 * 1024 * 1024) },
  });
  const { socket: stalled } = await RawWebSocket.open(server.port);
  await using _stalled = stalled;
  await stalled.sendText({ type: "subscribe", view: "Doc/list" });
  await until(() => server.telemetry.count("ws.subscriptionCreated") === 1, "the subscription");
  let emitted = 0;
  while (server.telemetry.count("ws.slowConsumerDropped") === 0) {
    assert.ok(emitted < 4000, `not dropped after ${emitted} frames`);
    await server.source.emit(
      ...Array.from({ length: 8 }, () => put("doc", emitted + 1, PAYLOAD, emitted++)),
    );
    await nextTurn(); // the socket writes what it can
  }
  const ws = records.filter((r) => r.category.join(".") === "pharos.ws");
  const blocked = ws.find((r) => String(r.rawMessage).includes("is not keeping up"));
  assert.ok(blocked, "a debug line when its socket passed the high-water mark");
  assert.equal(blocked.level, "debug");
  for (const field of ["client_id", "unsent_bytes", "high_water_bytes", "queued", "max_frames"]) {
    assert.ok(field in blocked.properties, `${field} missing`);
  }
  assert.ok(Number(blocked.properties.unsent_bytes) > Number(blocked.properties.high_water_bytes));

  const drop = ws.find((r) => String(r.rawMessage).startsWith("Slow consumer dropped"));
  assert.ok(drop);
  assert.equal(drop.level, "warning");
  assert.equal(drop.properties.client_id, blocked.properties.client_id);
  assert.equal(drop.properties.max_frames, 16);
  assert.equal(typeof drop.properties.queued, "number");
  assert.equal(typeof drop.properties.queued_bytes, "number");
  assert.equal(typeof drop.properties.blocked_ms, "number");

  const closing = ws.find((r) => String(r.rawMessage).startsWith("Closing client"));
  assert.ok(closing);
  assert.equal(closing.level, "debug");
  assert.equal(closing.properties.code, "1008");
  assert.match(String(closing.properties.reason), /^slow-consumer: /);
  assert.ok(records.indexOf(blocked) < records.indexOf(drop));
  assert.ok(records.indexOf(drop) < records.indexOf(closing));
  // Nothing of the projector below info: its level is info here.
  assert.ok(!records.some((r) => r.category[1] === "projector" && r.level === "debug"));
});
