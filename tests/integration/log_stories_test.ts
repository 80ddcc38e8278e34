/**
 * What an operator reads at debug and trace: a real server (`main.ts`) with JSON logs,
 * one story per test (a handler failure, a source reconnect, source events), and the
 * default `info` showing none of it.
 */
import assert from "node:assert/strict";
import { type ServerProcess, spawnServer } from "../fakes/server_process.ts";
import { transfer } from "../fakes/manual_source.ts";
import { UpstreamFeed } from "../fakes/upstream_feed.ts";
import { eventually, until } from "../wait.ts";

type LogLine = Record<string, unknown>;

const TOKEN = "log-stories-ingest-token";
const FAILING_STACK = new URL("../fixtures/otel_stack.ts", import.meta.url).pathname;
const LOCAL = { PORT: "0", PHAROS_HOST: "127.0.0.1", PHAROS_LOG_FORMAT: "json" };
const INGEST = {
  PHAROS_SOURCES: "ingest",
  PHAROS_INGEST_TOKEN: TOKEN,
  PHAROS_STACK: FAILING_STACK,
};
/** The targets of the components these stories are about. */
const COMPONENTS = /^pharos\.(vm|sources|health|pipeline)(\.|$)/;

/** Every JSON line the server wrote so far. */
function linesOf(server: ServerProcess): LogLine[] {
  return server.stdout().split("\n").filter((line) => line !== "").map((line) =>
    JSON.parse(line) as LogLine
  );
}

/** The first line `match` accepts, waiting for it (the writer flushes every 50 ms). */
function lineOf(
  server: ServerProcess,
  what: string,
  match: (line: LogLine) => boolean,
  timeoutMs = 15_000,
): Promise<LogLine> {
  return eventually(() => linesOf(server).find(match), `a line for ${what}`, {
    timeoutMs,
    everyMs: 20,
    detail: () => `${server.stdout()}\n${server.stderr()}`,
  });
}

const at = (level: string, target: string, message: RegExp) => (line: LogLine) =>
  line.level === level && line.target === target && message.test(String(line.message));

async function ingest(port: number, ...events: unknown[]): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/ingest`, {
    method: "POST",
    body: events.map((event) => JSON.stringify(event)).join("\n"),
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/x-ndjson" },
  });
  assert.equal(response.status, 202, await response.text());
}

/** A `Fail` event (the fixture's handler throws `refused`), then a good transfer. */
const FAILING_BATCH = [
  { type: "Fail", slot: 7, data: { mint: "mintF" } },
  transfer("mintA", 8, 5),
];

/** Starts a server on the failing stack, sends {@link FAILING_BATCH}, waits for its failure. */
async function failureStory(env: Record<string, string>): Promise<ServerProcess> {
  const server = spawnServer({ ...LOCAL, ...INGEST, ...env });
  try {
    const port = await server.port;
    await ingest(port, ...FAILING_BATCH);
    await lineOf(server, "the failure", at("WARN", "pharos.vm", /^Handler Token\.Fail failed/));
    return server;
  } catch (error) {
    await server[Symbol.asyncDispose]();
    throw error;
  }
}

Deno.test("a handler failure at pharos.vm=debug: the batch and the failure, no trace", async () => {
  await using server = await failureStory({ PHAROS_LOG: "info,pharos.vm=debug" });
  const lines = linesOf(server);
  const failure = lines.find(at("WARN", "pharos.vm", /^Handler Token\.Fail failed/))!;
  assert.equal(failure.message, "Handler Token.Fail failed (refused): refused on purpose");
  assert.deepEqual(
    [failure.entity, failure.handler, failure.code, failure.event_type, failure.slot],
    ["Token", "Fail", "refused", "Fail", 7],
  );
  const batch = lines.find(at("DEBUG", "pharos.vm", /^Ran \d+ events in [\d.]+ ms$/));
  assert.ok(batch, `a batch line:\n${server.stdout()}`);
  assert.deepEqual(
    [batch.events, batch.from, batch.batch_size, batch.mutations, batch.failures],
    [2, 0, 2, 1, 1],
  );
  assert.equal(typeof batch.duration_ms, "number");
  assert.ok(lines.indexOf(batch) < lines.indexOf(failure), "the batch line comes first");

  // The handler host's life (process isolation is the default); the spare may still be
  // loading the stack when the batch has run.
  const spawned = lines.find(at("DEBUG", "pharos.vm", /^Handler host \d+ spawned \(spare\)$/));
  assert.ok(spawned, "the spare's spawn");
  assert.equal(typeof spawned.pid, "number");
  const seeded = lines.find(at("DEBUG", "pharos.vm", /^Handler host \d+ seeded with 0 entries$/));
  assert.ok(seeded, "the active host's seed, before its first batch");
  assert.equal(seeded.entries, 0);
  const ready = await lineOf(
    server,
    "the spare's readiness",
    at("DEBUG", "pharos.vm", /^Handler host \d+ ready \(spare\) in \d+ ms$/),
  );
  assert.equal(ready.pid, spawned.pid);

  assert.deepEqual(linesOf(server).filter((line) => line.level === "TRACE"), []);
  assert.deepEqual(
    linesOf(server).filter((line) => line.level === "DEBUG" && line.target !== "pharos.vm"),
    [],
    "pharos.vm=debug leaves the other targets at info",
  );
});

for (const isolation of ["process", "inline"]) {
  Deno.test(`a handler failure at pharos.vm=trace (${isolation}): every run timed`, async () => {
    await using server = await failureStory({
      PHAROS_LOG: "info,pharos.vm=trace",
      PHAROS_HANDLER_ISOLATION: isolation,
    });
    // The trace lines of a slice precede its failure lines: they are all there by now.
    const lines = linesOf(server);
    const runs = lines.filter(at("TRACE", "pharos.vm", /^Handler Token\.\w+ ran in [\d.]+ ms$/));
    assert.deepEqual(
      runs.map((run) => [run.entity, run.handler, run.key, run.event_type, run.slot, run.source]),
      [["Token", "Fail", "mintF", "Fail", 7, "ingest"], [
        "Token",
        "Transfer",
        "mintA",
        "Transfer",
        8,
        "ingest",
      ]],
    );
    for (const run of runs) {
      assert.equal(typeof run.duration_ms, "number");
      assert.ok((run.duration_ms as number) >= 0 && (run.duration_ms as number) < 1000);
    }
    const mutations = lines.filter(at("TRACE", "pharos.vm", /^Mutation of Token mintA$/));
    assert.equal(mutations.length, 1);
    assert.deepEqual(
      [mutations[0]!.entity, mutations[0]!.key, mutations[0]!.event_type, mutations[0]!.seq],
      ["Token", "mintA", "Transfer", "8:000000000000"],
    );
    assert.ok(lines.some(at("DEBUG", "pharos.vm", /^Ran \d+ events in/)), "debug is on too");
  });
}

Deno.test("a source reconnect at pharos.sources=debug: down, retried with a delay, resumed", async () => {
  await using feed = new UpstreamFeed();
  await using server = spawnServer({
    ...LOCAL,
    PHAROS_SOURCES: "upstream",
    PHAROS_UPSTREAM_URL: feed.url,
    PHAROS_UPSTREAM_SUBSCRIBE: JSON.stringify({ type: "subscribe", from: "{{cursor}}" }),
    PHAROS_LOG: "info,pharos.sources=debug,pharos.health=debug",
  });
  const port = await server.port;
  const connected = at("INFO", "pharos.sources.upstream", /^Source upstream connected to /);
  await lineOf(server, "the first connect", connected);
  feed.publish(transfer("mintA", 10, 1, { index: 0 }), transfer("mintA", 11, 2, { index: 0 }));
  // Delivered: the cursor is the second event's.
  await until(async () => {
    const status = await (await fetch(`http://127.0.0.1:${port}/status`)).json();
    return (status.sources as LogLine[]).find((s) => s.name === "upstream")?.events === 2;
  }, "the two events to arrive");

  await feed.kill();
  const closed = await lineOf(
    server,
    "the disconnect",
    at("INFO", "pharos.sources.upstream", /^Source upstream closed \(1001\)/),
  );
  assert.equal(closed.source, "upstream");
  const retry = await lineOf(
    server,
    "the reconnect attempt",
    at("INFO", "pharos.sources.upstream", /^Source upstream reconnecting in \d+ ms \(attempt 1\)$/),
  );
  assert.equal(retry.attempt, 1);
  assert.ok(typeof retry.delay_ms === "number" && retry.delay_ms > 0, "with its delay");
  await lineOf(
    server,
    "the status line",
    at("INFO", "pharos.sources", /^Source upstream is reconnecting$/),
  );
  const down = await lineOf(
    server,
    "the health transition",
    at("DEBUG", "pharos.health", /^Source upstream health: Connected to Reconnecting/),
  );
  assert.equal(down.healthy, true, "a blip is still healthy");

  feed.revive();
  const again = await lineOf(
    server,
    "the second connect",
    (line) => connected(line) && line.cursor !== null,
  );
  assert.equal(again.cursor, "11:000000000000");
  const attempt = linesOf(server).findLast(
    at("INFO", "pharos.sources.upstream", /^Source upstream connecting to /),
  )!;
  assert.ok((attempt.attempt as number) >= 1, "the attempt that connected");
  const subscribed = await lineOf(
    server,
    "the resubscription",
    (line) =>
      at("DEBUG", "pharos.sources.upstream", /^Source upstream subscribed from cursor/)(line) &&
      line.cursor !== null,
  );
  assert.equal(subscribed.cursor, "11:000000000000");
  const replayed = await lineOf(
    server,
    "the replay's duplicate",
    at("DEBUG", "pharos.sources.upstream", /^Source upstream dropped 1 events already delivered/),
  );
  assert.equal(replayed.count, 1);
  await lineOf(
    server,
    "the health transition back",
    at("DEBUG", "pharos.health", /^Source upstream health: Reconnecting to Connected/),
  );
  assert.deepEqual(
    linesOf(server).filter((line) => line.level === "TRACE"),
    [],
    "no per-event lines at debug",
  );
});

Deno.test("source events at pharos.sources=trace: one line per event", async () => {
  await using server = spawnServer({
    ...LOCAL,
    ...INGEST,
    PHAROS_LOG: "info,pharos.sources=trace",
  });
  const port = await server.port;
  await ingest(port, transfer("mintA", 21, 1), { ...transfer("mintB", 22, 2), key: "k" });
  const accepted = await lineOf(
    server,
    "the accepted request",
    at("DEBUG", "pharos.sources.ingest", /^Ingest from 127\.0\.0\.1:\d+: 2 events accepted$/),
  );
  assert.deepEqual([accepted.source, accepted.accepted, accepted.rejected], ["ingest", 2, 0]);
  await lineOf(server, "the second event", (line) => line.level === "TRACE" && line.slot === 22);
  const events = linesOf(server).filter(
    at("TRACE", "pharos.sources.ingest", /^Source ingest event Transfer$/),
  );
  assert.deepEqual(events.map((e) => [e.source, e.type, e.slot, e.key]), [
    ["ingest", "Transfer", 21, undefined],
    ["ingest", "Transfer", 22, "k"],
  ]);
});

Deno.test("at the default info, these components write no debug or trace line", async () => {
  // The failure line is a barrier: a batch's debug and trace lines come before it, the
  // source's per-event lines before the batch, health transitions before the events.
  await using server = await failureStory({});
  const quiet = linesOf(server).filter((line) =>
    (line.level === "DEBUG" || line.level === "TRACE") && COMPONENTS.test(String(line.target))
  );
  assert.deepEqual(quiet, []);
  assert.ok(linesOf(server).some(at("INFO", "pharos.sources", /^Source ingest starting/)));
});
