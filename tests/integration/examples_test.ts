/**
 * Smoke runs of every `deno task example:*`: each runs as a subprocess with the task's own
 * arguments and permissions, must exit 0 by itself within a bounded time, and must print what
 * its documentation promises.
 */
import assert from "node:assert/strict";
import { startOtlpReceiver } from "../fakes/otlp_receiver.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { runTask, taskNames } from "./_tasks.ts";

const EXAMPLES = ["client", "custom_stack", "logging", "metrics", "otlp_tracing", "tracing"];

Deno.test("every example has a task, and every example task is smoke-tested here", () => {
  assert.deepEqual(taskNames("example:").sort(), EXAMPLES.map((name) => `example:${name}`));
});

Deno.test("example:metrics prints Pharos's and the host's metrics from the host's provider", async () => {
  const { stdout } = await runTask("example:metrics");
  assert.match(stdout, /^subscriber received 4 frames/m);
  assert.match(stdout, /^GET \/metrics -> 200,/m);
  for (
    const line of [
      "example_host_runs_total 1",
      "ws_connections_total 1",
      "ws_disconnections_total 1",
      'subscriptions_created_total{view="Token/list"} 1',
      'source_events_total{source="example"} 3',
      'mutations_processed_total{entity="Token"} 3',
      'frames_published_total{mode="list",entity="Token"} 3',
    ]
  ) {
    assert.ok(stdout.split("\n").includes(line), `missing "${line}" in:\n${stdout}`);
  }
  assert.match(stdout, /^process_resident_memory_bytes \d+$/m);
});

Deno.test("example:logging writes JSON Lines filtered by info,pharos.ws=debug", async () => {
  const { stdout } = await runTask("example:logging");
  const records = stdout.trim().split("\n").map((line) => JSON.parse(line));
  for (const record of records) {
    for (const field of ["timestamp", "level", "target", "message"]) {
      assert.ok(field in record, `${field} missing in ${JSON.stringify(record)}`);
    }
  }
  const debug = records.filter((r) => r.level === "DEBUG");
  assert.ok(debug.some((r) => r.target === "pharos.ws" && /Ignored message/.test(r.message)));
  assert.deepEqual(debug.filter((r) => r.target !== "pharos.ws"), [], "only pharos.ws at debug");
  const subscribed = records.find((r) => /subscribed to Token\/list/.test(r.message));
  assert.equal(subscribed?.target, "pharos.ws");
  assert.equal(typeof subscribed?.client_id, "string");
  assert.ok(
    records.some((r) => r.target === "pharos.runtime" && r.message === "Shutdown complete"),
  );
  // Disposing the handle flushed everything, the example's last line included.
  assert.equal(records.at(-1)?.message, "Example done");
});

Deno.test("example:tracing prints each trace as a tree", async () => {
  const { stdout } = await runTask("example:tracing");
  assert.match(stdout, /^\d+ spans in \d+ traces$/m);
  assert.match(stdout, /^ws\.connection \([\d.]+ ms\) \{client\.id="[^"]+"\}$/m);
  assert.match(stdout, /^├─ ws\.subscribe\.list .*\{view="Token\/list", mode="list"\}$/m);
  assert.match(
    stdout,
    /^└─ ws\.subscribe\.state .*\{view="Token\/state", key="mintA", mode="state"\}$/m,
  );
  assert.match(stdout, /^vm\.process_event .*\{event\.type="Transfer", slot=7\}$/m);
  assert.match(stdout, /^└─ projector\.mutation .*\{entity="Token"\}$/m);
  assert.match(stdout, /^ {3}├─ projector\.publish .*\{view="Token\/list", mode="list"\}$/m);
  assert.match(stdout, /^ {3}└─ projector\.publish .*\{view="Token\/state", mode="state"\}$/m);
  assert.match(stdout, /^GET \/ready .*http\.response\.status_code=200\}$/m);
});

Deno.test("example:otlp_tracing ships spans, metrics and log records, then exits", async () => {
  await using receiver = await startOtlpReceiver();
  const { stdout, elapsedMs } = await runTask("example:otlp_tracing", [
    receiver.url,
    "--seconds",
    "1",
  ]);
  assert.match(stdout, /Sending telemetry to http:\/\/127\.0\.0\.1:\d+ for 1 s/);
  assert.ok(elapsedMs < 20_000, `took ${elapsedMs} ms`);
  // Everything arrived before the process exited: the guard flushed on disposal.
  const spans = receiver.spans();
  const names = new Set(spans.map((s) => s.name));
  for (const name of ["ws.connection", "ws.subscribe.list", "vm.process_event"]) {
    assert.ok(names.has(name), `no ${name} span among ${[...names]}`);
  }
  const event = spans.find((s) => s.name === "vm.process_event")!;
  assert.equal(event.resource["service.name"], "pharos-example");
  const mutation = spans.find((s) =>
    s.name === "projector.mutation" && s.traceId === event.traceId
  );
  assert.equal(mutation?.parentSpanId, event.spanId, "projector.mutation continues the event");
  const subscribe = spans.find((s) => s.name === "ws.subscribe.list")!;
  const connection = spans.find((s) => s.name === "ws.connection")!;
  assert.equal(subscribe.parentSpanId, connection.spanId);
  assert.ok(receiver.lastMetric("ws_connections_total"), "metrics were exported too");
  // And log records, its own last line among them (flushed on disposal).
  const bodies = receiver.logs().map((r) => String(r.body));
  assert.ok(bodies.includes("Done; flushing spans, metrics and log records"), bodies.join("\n"));
});

Deno.test("example:custom_stack feeds the wallets stack through ingest", async () => {
  const { stdout } = await runTask("example:custom_stack");
  assert.match(stdout, /^POST \/ingest -> 202 \{"accepted":4,"rejected":1,"errors":\[\{"line":3,/m);
  for (const line of ["subscribed Wallet/top", "subscribed Wallet/state"]) {
    assert.ok(stdout.includes(`${line}\n`), `missing "${line}"`);
  }
  for (const wallet of ["bob", "carol", "dave"]) {
    assert.match(stdout, new RegExp(`^upsert Wallet/top ${wallet}$`, "m"));
  }
  assert.equal(stdout.match(/^patch Wallet\/state carol$/gm)?.length, 2);
  assert.match(stdout, /"wallet":"carol","total":7000000,"totalMillions":7/);
  assert.doesNotMatch(stdout, /Wallet\/state (bob|dave)/, "the state subscription is keyed");
});

Deno.test("example:client streams from a running server with HyperStack's client", async () => {
  await using server = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_DEMO_RATE: "200",
    PHAROS_DEMO_KEYS: "20",
  });
  const port = await server.port;
  const { stdout } = await runTask("example:client", [`ws://127.0.0.1:${port}`]);
  const updates = stdout.split("\n").filter((line) => /^(upsert|patch|delete) \S+$/.test(line));
  assert.equal(updates.length, 30, `30 list updates expected:\n${stdout}`);
  assert.equal(stdout.match(/^state of \S+: \{/gm)?.length, 2);
});
