/**
 * `event_delivery_lag_seconds{view}` end to end: a real server on a real socket, a real
 * WebSocket client, the server's clock a FakeClock that only the stack's handler moves (it
 * "takes" 120 ms), so the lag each frame is handed over with is known exactly.
 */
import assert from "node:assert/strict";
import { defineStack } from "../../src/stack/mod.ts";
import { FakeClock } from "../fakes/fake_clock.ts";
import { transfer } from "../fakes/manual_source.ts";
import { startTestServer } from "../fakes/test_server.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { barrier } from "./_helpers.ts";

/** How long the handler of each event takes, on the server's clock. */
const HANDLER_MS = 120;

Deno.test("frames handed to a client's socket record their view's delivery lag", async (t) => {
  const clock = new FakeClock();
  const stack = defineStack({
    name: "lag",
    entities: {
      Token: {
        key: (event) => String(event.data.mint),
        handlers: {
          Transfer: (_state, event) => {
            clock.busy(HANDLER_MS); // between the event's arrival and its frame's send
            return { mint: event.data.mint, slot: event.slot ?? null };
          },
        },
      },
    },
  });
  await using server = await startTestServer({ clock, stack });
  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: "Token/list" });
  await client.waitFor((frames) => frames.some((f) => f.json.op === "subscribed"));
  const lags = () => server.telemetry.values("ws.deliveryLag", "Token/list");

  await t.step("one event: one sample, from its arrival to its frame's send", async () => {
    await server.source.emit(transfer("m1", 1));
    await client.waitFor((frames) => frames.some((f) => f.json.op === "patch"));
    assert.deepEqual(lags(), [HANDLER_MS / 1000]);
  });

  await t.step("each batch is sampled; a view nobody watches records nothing", async () => {
    await server.source.emit(transfer("m2", 2));
    await client.waitFor((frames) => frames.filter((f) => f.json.op === "patch").length === 2);
    assert.deepEqual(lags(), [HANDLER_MS / 1000, HANDLER_MS / 1000]);
    await barrier(client);
    assert.equal(server.telemetry.count("ws.deliveryLag", "Token/state"), 0);
    assert.equal(server.telemetry.count("ws.deliveryLag"), 2, "only the subscribed view's");
  });

  await t.step("replies are not deliveries; each view's frames are its own", async () => {
    client.send({ type: "subscribe", view: "Token/state", key: "m1" });
    await client.waitFor((frames) => frames.some((f) => f.json.entity === "Token/state"));
    await barrier(client);
    assert.equal(server.telemetry.count("ws.deliveryLag", "Token/state"), 0, "a snapshot");
    await server.source.emit(transfer("m1", 3));
    await client.waitFor((frames) => frames.filter((f) => f.json.op === "patch").length === 4);
    assert.deepEqual(server.telemetry.values("ws.deliveryLag", "Token/state"), [
      HANDLER_MS / 1000,
    ]);
    assert.equal(lags().length, 3);
  });
});
