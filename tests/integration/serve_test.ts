/**
 * `deno task serve` (serve.ts under `deno serve`): started as the task starts it but on port
 * 0, probed over HTTP and WebSocket, then stopped with SIGTERM.
 */
import assert from "node:assert/strict";
import { startOtlpReceiver } from "../fakes/otlp_receiver.ts";
import { spawnDeno } from "../fakes/server_process.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { ROOT, taskArgs } from "./_tasks.ts";
import { eventually, until } from "../wait.ts";

/** The serve task's arguments, on a free loopback port instead of 8877. */
function serveArgs(): string[] {
  const args = taskArgs("serve");
  const at = args.indexOf("--port");
  assert.ok(at > 0 && args[at + 1] === "8877", "the serve task listens on 8877");
  args.splice(at, 2, "--port", "0", "--host", "127.0.0.1");
  assert.equal(args.at(-1), "serve.ts");
  return args;
}

/** Starts the serve task with `env`; `port` resolves with the port it logged. */
function startServe(env: Record<string, string>) {
  return spawnDeno(serveArgs(), env, { cwd: ROOT });
}

Deno.test("deno task serve: /health, /ready, a WebSocket subscriber, graceful SIGTERM", async () => {
  await using server = startServe({ PHAROS_DEMO_RATE: "50" });
  const port = await server.port;
  const http = `http://127.0.0.1:${port}`;

  const health = await fetch(`${http}/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "ok" });
  const ready = await eventually(
    async () => {
      const response = await fetch(`${http}/ready`);
      if (response.status === 200) return response;
      await response.body?.cancel();
    },
    "/ready 200",
    { everyMs: 100 },
  );
  assert.deepEqual(await ready.json(), { ready: true });

  {
    await using client = await TestClient.connect(`ws://127.0.0.1:${port}/`);
    client.send({ type: "subscribe", view: "Token/list" });
    const frames = await client.waitFor(
      (f) => f.some((x) => x.json.op === "subscribed") && f.some((x) => x.json.op === "patch"),
      5000,
      "the subscribed ack and a live patch",
    );
    assert.equal(frames[0]!.json.view, "Token/list");
  }
  const metrics = await (await fetch(`${http}/metrics`)).text();
  assert.match(metrics, /^ws_connections_total 1$/m);
  assert.match(metrics, /^source_events_total\{source="demo"\} [1-9]\d*$/m);

  server.child.kill("SIGTERM");
  const status = await server.exited;
  assert.equal(status.code, 0, server.stderr());
  assert.match(server.stdout(), /Starting Pharos runtime .*entry=deno serve/);
  assert.match(server.stdout(), /Received SIGTERM, shutting down/);
  assert.match(server.stdout(), /Shutdown complete/);
});

Deno.test("deno task serve with OTEL_DENO=true: the runtime exports Pharos's spans", async () => {
  await using receiver = await startOtlpReceiver();
  await using server = startServe({
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SERVICE_NAME: "pharos-serve",
    OTEL_METRIC_EXPORT_INTERVAL: "500",
    PHAROS_DEMO_RATE: "50",
  });
  const port = await server.port;
  assert.match(server.stdout(), /OpenTelemetry set up \(deno mode\)/);
  {
    await using client = await TestClient.connect(`ws://127.0.0.1:${port}/`);
    client.send({ type: "subscribe", view: "Token/list" });
    await client.waitFor((f) => f.some((x) => x.json.op === "patch"), 5000, "a live patch");
  }
  await until(() => server.stdout().includes("disconnected"), "the server to see the close");
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0, server.stderr());
  await receiver.waitFor(
    (r) => ["process pipeline", "ws.connection"].every((n) => r.spans().some((s) => s.name === n)),
    10_000,
    "Pharos's spans exported by the runtime",
  );
  const span = receiver.spans().find((s) => s.name === "process pipeline")!;
  assert.equal(span.resource["service.name"], "pharos-serve");
});
