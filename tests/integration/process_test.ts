import assert from "node:assert/strict";
import { spawnServer } from "../fakes/server_process.ts";
import { TestClient } from "../fakes/ws_client.ts";

const LOCAL = { PORT: "0", PHAROS_HOST: "127.0.0.1" };

Deno.test("SIGTERM closes connected clients with 1001 and exits 0 within 10 s", async () => {
  await using server = spawnServer({ ...LOCAL, PHAROS_DEMO_RATE: "50" });
  const port = await server.port;
  const clients = await Promise.all(
    [1, 2, 3].map(() => TestClient.connect(`ws://127.0.0.1:${port}`)),
  );
  for (const client of clients) client.send({ type: "subscribe", view: "Token/list" });
  await Promise.all(clients.map((c) => c.waitFor((f) => f.some((x) => x.json.op === "patch"))));
  const ready = await fetch(`http://127.0.0.1:${port}/ready`);
  assert.equal(ready.status, 200);
  await ready.body?.cancel();

  const started = performance.now();
  server.child.kill("SIGTERM");
  const closes = await Promise.all(clients.map((c) => c.closed));
  const status = await server.exited;
  const elapsedMs = performance.now() - started;
  for (const close of closes) assert.equal(close.code, 1001);
  assert.equal(status.code, 0, server.stderr());
  assert.ok(elapsedMs < 10_000, `shutdown took ${elapsedMs} ms`);
  assert.match(server.stdout(), /Shutdown complete/);
  for (const client of clients) await client[Symbol.asyncDispose]();
});

Deno.test("an invalid config exits 2 naming every bad option, and starts nothing", async () => {
  await using server = spawnServer({
    PORT: "abc",
    PHAROS_MAX_CLIENTS: "-5",
    PHAROS_LOG: "pharos.ws=loud",
  });
  const status = await server.exited;
  assert.equal(status.code, 2);
  const stderr = server.stderr();
  assert.match(stderr, /PORT="abc"/);
  assert.match(stderr, /PHAROS_MAX_CLIENTS="-5"/);
  assert.match(stderr, /PHAROS_LOG="pharos.ws=loud"/);
  assert.doesNotMatch(server.stdout(), /listening/);
});

Deno.test("an unknown flag exits 2", async () => {
  await using server = spawnServer(LOCAL, ["--no-such-flag=1"]);
  const status = await server.exited;
  assert.equal(status.code, 2);
  assert.match(server.stderr(), /no-such-flag/);
});

Deno.test("PHAROS_STACK loads a user stack module and serves its views", async () => {
  await using server = spawnServer({
    ...LOCAL,
    PHAROS_STACK: "examples/custom_stack.ts",
    PHAROS_DEMO_RATE: "100",
  });
  const port = await server.port;
  await using client = await TestClient.connect(`ws://127.0.0.1:${port}`);
  client.send({ type: "subscribe", view: "Wallet/top" });
  const frames = await client.waitFor(
    (f) => f.some((x) => x.json.op === "upsert" || x.json.op === "snapshot"),
    5000,
    "Wallet/top frames",
  );
  assert.deepEqual(frames[0]!.json, {
    op: "subscribed",
    view: "Wallet/top",
    mode: "list",
    sort: { field: ["totalMillions"], order: "desc" },
  });
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0);
});

Deno.test("a stack module that cannot be loaded exits 2 with the module named", async () => {
  await using server = spawnServer({ ...LOCAL, PHAROS_STACK: "examples/no_such_stack.ts" });
  const status = await server.exited;
  assert.equal(status.code, 2);
  assert.match(server.stderr(), /no_such_stack\.ts/);
});

Deno.test("deno task start defaults: /health, /ready and a streaming demo", async () => {
  await using server = spawnServer(LOCAL);
  const port = await server.port;
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  assert.deepEqual(await health.json(), { status: "ok" });
  const ready = await fetch(`http://127.0.0.1:${port}/ready`);
  assert.deepEqual([ready.status, await ready.json()], [200, { ready: true }]);
  await using client = await TestClient.connect(`ws://127.0.0.1:${port}`);
  client.send({ type: "subscribe", view: "Token/list" });
  await client.waitFor((f) => f.some((x) => x.json.op === "patch"), 5000, "a live patch");
  assert.match(
    server.stdout(),
    /INFO pharos\.ws\.server: WebSocket server listening on 127\.0\.0\.1:\d+/,
  );
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0);
});

Deno.test("PHAROS_SOURCES=ingest: events POSTed to /ingest stream to subscribers", async () => {
  await using server = spawnServer({
    ...LOCAL,
    PHAROS_SOURCES: "ingest",
    PHAROS_INGEST_TOKEN: "test-token",
    PHAROS_LOG: "trace", // the token must stay out of even the most verbose logs
  });
  const port = await server.port;
  await using client = await TestClient.connect(`ws://127.0.0.1:${port}`);
  client.send({ type: "subscribe", view: "Token/state", key: "mintZ" });
  await client.waitFor((f) => f.length >= 1);
  const body = [
    { type: "Transfer", slot: 7, data: { mint: "mintZ", from: "a", to: "b", amount: "5" } },
    { type: "Transfer", data: "not an object" },
  ].map((event) => JSON.stringify(event)).join("\n");
  const refused = await fetch(`http://127.0.0.1:${port}/ingest`, { method: "POST", body });
  assert.equal(refused.status, 401);
  await refused.body?.cancel();
  const response = await fetch(`http://127.0.0.1:${port}/ingest`, {
    method: "POST",
    body,
    headers: { authorization: "Bearer test-token", "content-type": "application/x-ndjson" },
  });
  const result = await response.json();
  assert.equal(response.status, 202);
  assert.deepEqual([result.accepted, result.rejected, result.errors[0].line], [1, 1, 2]);
  const frames = await client.waitFor((f) => f.some((x) => x.json.op === "patch"));
  const patch = frames.find((x) => x.json.op === "patch")!.json;
  assert.equal((patch.data as { transferCount: number }).transferCount, 1);
  const status = await (await fetch(`http://127.0.0.1:${port}/status`)).json();
  assert.deepEqual(
    status.sources.map((s: { name: string; status: string }) => [s.name, s.status]),
    [["ingest", "Connected"]],
  );
  assert.doesNotMatch(server.stdout(), /test-token/, "the token never reaches the logs");
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0);
});

Deno.test("a source without what it needs exits 2 naming the missing option", async () => {
  await using server = spawnServer({ ...LOCAL, PHAROS_SOURCES: "ingest,replay" });
  assert.equal((await server.exited).code, 2);
  assert.match(server.stderr(), /PHAROS_INGEST_TOKEN/);
  assert.match(server.stderr(), /PHAROS_REPLAY_FILE/);
});
