import assert from "node:assert/strict";
import { startTestServer } from "../fakes/test_server.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { FakeClock } from "../fakes/fake_clock.ts";
import { recordLogs } from "../fakes/recording_log.ts";
import { nextTurn, until, within } from "../wait.ts";

Deno.test("draining: /ready turns 503, clients get 1001, new upgrades are refused", async () => {
  await using server = await startTestServer();
  const before = await fetch(`${server.httpUrl}/ready`);
  assert.deepEqual([before.status, await before.json()], [200, { ready: true }]);
  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: "Token/list" });
  await client.waitFor((f) => f.length >= 1);

  await server.app.shutdown();
  const close = await client.closed;
  assert.equal(close.code, 1001);
  const during = await fetch(`${server.httpUrl}/ready`);
  assert.deepEqual([during.status, await during.json()], [503, { ready: false }]);
  const health = await fetch(`${server.httpUrl}/health`);
  assert.deepEqual([health.status, await health.json()], [200, { status: "ok" }]);
  assert.ok(server.source.stopped, "sources are stopped");
  const refused = await fetch(server.httpUrl, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    },
  });
  assert.equal(refused.status, 503);
  assert.equal((await refused.json()).code, "server-at-capacity");
});

Deno.test("a cluster instance stopped while still starting shuts down at once, holding nothing", async () => {
  // A port nothing listens on: start-up waits for Redis, retrying the connection.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = closed.addr.port;
  closed.close();
  await using logs = await recordLogs(["pharos", "cluster"]);
  const clock = new FakeClock();
  const server = await startTestServer({
    env: { PHAROS_REDIS_URL: `redis://127.0.0.1:${port}` },
    clock,
  });
  await until(
    () => logs.at("warning").some((r) => /Redis connection/.test(String(r.rawMessage))),
    "start-up waiting for Redis",
  );
  await within(
    5_000,
    "shutdown while the cluster is starting",
    async () => await server[Symbol.asyncDispose](),
  );
  // A start-up that went on after the stop would run the lease on the clock.
  assert.equal(clock.pendingTimers, 0, "every timer ended with the shutdown");
  const after = logs.records.length;
  clock.advance(10_000);
  await nextTurn();
  assert.deepEqual(logs.records.slice(after).map((r) => r.rawMessage), []);
  assert.doesNotMatch(logs.text(), /lease/i);
});
