import assert from "node:assert/strict";
import { startTestServer } from "../fakes/test_server.ts";
import { transfer } from "../fakes/manual_source.ts";
import { TestClient } from "../fakes/ws_client.ts";

Deno.test("a subscriber gets subscribed, snapshot and live patch frames", async () => {
  await using server = await startTestServer();
  await server.source.emit(transfer("mintA", 100, 5));
  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: "Token/list" });
  await client.waitFor((f) => f.length >= 2);
  await server.source.emit(transfer("mintA", 101, 7));
  const frames = await client.waitFor((f) => f.length >= 3);
  assert.deepEqual(frames.map((f) => f.json.op), ["subscribed", "snapshot", "patch"]);
  assert.ok(frames.every((f) => f.binary));
  assert.equal(frames[2]!.json.seq, "101:000000000000");
});
