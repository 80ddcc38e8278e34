import assert from "node:assert/strict";
import { startTestServer } from "../fakes/test_server.ts";
import { TestClient } from "../fakes/ws_client.ts";

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
