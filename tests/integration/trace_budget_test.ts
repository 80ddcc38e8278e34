/**
 * The event path's span budget end to end: a real Pharos process floods with untraced
 * events as fast as it takes them, exporting to a real OTLP receiver. Every event is in
 * a `process pipeline` batch span linked to the ingest request it came in with, and the
 * spans stay within the documented bound however fast the events come.
 */
import assert from "node:assert/strict";
import { startOtlpReceiver } from "../fakes/otlp_receiver.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { until } from "../wait.ts";

const TOKEN = "trace-budget-token";
const EVENTS = 20_000;
const PER_POST = 500;
/** The defaults: PHAROS_TRACE_BATCHES_PER_SECOND and PHAROS_TRACE_EVENTS_PER_SECOND. */
const BATCHES_PER_SECOND = 10;
const TREES_PER_SECOND = 20;
/** The default PHAROS_TRACE_REQUESTS_PER_SECOND. */
const REQUESTS_PER_SECOND = 50;
/** Single-event POSTs after the flood: a request rate far over the request spans' budget. */
const SINGLE_POSTS = 400;

/** POSTs one NDJSON body, again while the intake is full (503). */
async function post(port: number, body: string): Promise<void> {
  for (;;) {
    const response = await fetch(`http://127.0.0.1:${port}/ingest`, {
      method: "POST",
      body,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    await response.body?.cancel();
    if (response.status === 202) return;
    assert.equal(response.status, 503, "accepted, or refused while full");
  }
}

Deno.test("trace budget: a flood of untraced events is in batch spans, bounded per second", async () => {
  await using receiver = await startOtlpReceiver();
  await using server = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_SOURCES: "ingest",
    PHAROS_INGEST_TOKEN: TOKEN,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: "100",
  });
  const port = await server.port;
  const started = performance.now();
  for (let at = 0; at < EVENTS; at += PER_POST) {
    const lines = [];
    for (let i = at; i < at + PER_POST; i++) {
      lines.push(JSON.stringify({
        type: "Transfer",
        slot: i,
        data: { mint: `mint${i % 50}`, from: "alice", to: "bob", amount: "1" },
      }));
    }
    await post(port, lines.join("\n"));
  }
  for (let i = 0; i < SINGLE_POSTS; i++) {
    const slot = EVENTS + i;
    await post(
      port,
      JSON.stringify({ type: "Transfer", slot, data: { mint: "single", amount: "1" } }),
    );
  }
  const covered = () =>
    receiver.spans().filter((s) => s.name === "process pipeline").reduce(
      (sum, s) => sum + Number(s.attributes["messaging.batch.message_count"]),
      0,
    );
  await until(() => covered() >= EVENTS + SINGLE_POSTS, "every event in a batch span", 30_000);
  const seconds = (performance.now() - started) / 1000;
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0, server.stderr());

  const spans = receiver.spans();
  const batches = spans.filter((s) => s.name === "process pipeline");
  assert.equal(covered(), EVENTS + SINGLE_POSTS, "each event in exactly one batch span");
  const requestSpans = spans.filter((s) => s.name === "POST /ingest").length;
  assert.ok(
    requestSpans <= Math.ceil(seconds * REQUESTS_PER_SECOND) + REQUESTS_PER_SECOND,
    `${requestSpans} request spans for ${EVENTS / PER_POST + SINGLE_POSTS} POSTs in ${seconds} s`,
  );
  // The bounds hold whatever the machine's speed: the server's own time is within ours.
  assert.ok(
    batches.length <= Math.ceil(seconds * BATCHES_PER_SECOND) + 2,
    `${batches.length} batch spans in ${seconds.toFixed(1)} s`,
  );
  const trees = spans.filter((s) => s.name === "vm.process_event");
  assert.ok(
    trees.length <= Math.ceil(seconds * TREES_PER_SECOND) + TREES_PER_SECOND,
    `${trees.length} event trees in ${seconds.toFixed(1)} s`,
  );
  assert.ok(trees.length > 0, "1 % of the untraced events still get their tree");

  const requests = new Map(
    spans.filter((s) => s.name === "POST /ingest").map((s) => [s.spanId, s]),
  );
  const linked = batches.flatMap((s) => s.links).filter((l) => requests.has(l.spanId));
  assert.ok(linked.length > 0, "batch spans link to the requests their events came in with");
  for (const link of linked) assert.equal(link.traceId, requests.get(link.spanId)!.traceId);
  const treeIds = new Set(trees.map((s) => s.spanId));
  assert.ok(
    batches.some((s) => s.links.some((l) => treeIds.has(l.spanId))),
    "a batch span links to the per-event trees made for its events",
  );
  const first = batches.find((s) =>
    String(s.attributes["pharos.batch.positions"]).includes("slots 0-")
  );
  assert.ok(first, "the first batch names the slots it covered");
  assert.equal(first.kind, "consumer");
  assert.match(String(first.attributes["pharos.batch.entities"]), /^Token\/mint0(,|$)/);
});
