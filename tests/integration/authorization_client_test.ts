/**
 * View grants as HyperStack's official client (`hyperstack-typescript` 0.6.9) sees them,
 * against a real Pharos (README "Security", "Who sees what"): with a token that grants
 * `Token/list` only, `Token/list` works, and a subscribe to `Token/state` is reported
 * through the client's socket-issue handler while the connection and the list go on.
 */
import assert from "node:assert/strict";
import { type Frame, HyperStack, type Update } from "hyperstack-typescript";
import { transfer } from "../fakes/manual_source.ts";
import { startTestServer } from "../fakes/test_server.ts";
import { recordClient, tokenStack } from "./_helpers.ts";
import { until, within } from "../wait.ts";

/** The view a frame is about: `view` of a `subscribed` frame, else `entity`. */
function viewOf(frame: Frame): string {
  return "view" in frame ? frame.view : frame.entity;
}

Deno.test("HyperStack client with a grant of Token/list only: the list works, Token/state is a socket issue", async (t) => {
  await using server = await startTestServer({
    env: { PHAROS_AUTH: "static", PHAROS_AUTH_TOKENS: "list-only;views=Token/list;sub=reader" },
  });
  await server.source.emit(transfer("mint1", 10), transfer("mint2", 11), transfer("mint3", 12));

  const hs = await HyperStack.connect(tokenStack(server.wsUrl), {
    url: server.wsUrl,
    auth: { token: "list-only" },
  });
  await using recorded = recordClient(hs, server);
  const { states, issues, frames } = recorded;
  assert.equal(hs.connectionState, "connected");

  const list = hs.views.Token.list.watch()[Symbol.asyncIterator]();
  const nextUpdate = () =>
    within(5000, "a Token/list update", list.next()).then((r) => r.value as Update<unknown>);

  await t.step("Token/list: the snapshot arrives", async () => {
    const snapshot = [await nextUpdate(), await nextUpdate(), await nextUpdate()];
    assert.deepEqual(snapshot.map((u) => u.type), ["upsert", "upsert", "upsert"]);
    assert.deepEqual(snapshot.map((u) => u.key).sort(), ["mint1", "mint2", "mint3"]);
    assert.deepEqual(issues, []);
  });

  // Iterating a view is what subscribes the client; this one is outside the grant.
  const state = hs.views.Token.state.watch("mint1")[Symbol.asyncIterator]();
  const stateUpdates: Update<unknown>[] = [];
  void state.next().then((r) => r.done ? undefined : stateUpdates.push(r.value as Update<unknown>));

  await t.step("Token/state: the client reports a socket issue, not fatal", async () => {
    await until(() => issues.length > 0, "the client's socket issue", {
      detail: () => `frames: ${frames.map((f) => `${f.op} ${viewOf(f)}`).join(", ")}`,
    });
    assert.equal(issues.length, 1);
    const [issue] = issues;
    // The client maps wire codes it does not know to INTERNAL_ERROR; the wire code stays
    // in `error`, and the message names the view.
    assert.equal(issue!.error, "view-forbidden");
    assert.equal(issue!.code, "INTERNAL_ERROR");
    assert.equal(issue!.fatal, false);
    assert.equal(issue!.retryable, false);
    assert.match(issue!.message, /Token\/state/);
    assert.equal(server.telemetry.count("ws.viewForbidden", "Token/state"), 1);
  });

  await t.step("the connection stays connected and Token/list keeps receiving", async () => {
    // Two events: once the second's patch is in, anything the first caused on this socket
    // (a Token/state frame, were the subscription let through) would be in too.
    await server.source.emit(transfer("mint1", 20, 5), transfer("mint2", 21, 7));
    const [first, second] = [await nextUpdate(), await nextUpdate()];
    assert.deepEqual([first.type, first.key], ["patch", "mint1"]);
    assert.deepEqual([second.type, second.key], ["patch", "mint2"]);
    assert.equal(hs.connectionState, "connected");
    assert.equal(hs.isConnected(), true);
    assert.ok(!states.includes("error") && !states.includes("reconnecting"), `${states}`);
    assert.deepEqual(frames.filter((f) => viewOf(f) === "Token/state"), [], "no Token/state frame");
    assert.deepEqual(stateUpdates, []);
    assert.equal(issues.length, 1, "one issue, for the one refused subscribe");
    assert.equal(server.app.ws.clientCount, 1);
  });

  await state.return?.();
  await list.return?.();
});
