/**
 * HyperStack's official TypeScript client (`hyperstack-typescript` 0.6.9), used the way its
 * documentation shows, against a real Pharos: the compatibility promise of docs/protocol.md.
 */
import assert from "node:assert/strict";
import { type Frame, HyperStack, type Update } from "hyperstack-typescript";
import { transfer } from "../fakes/manual_source.ts";
import { startTestServer } from "../fakes/test_server.ts";
import { recordClient, tokenStack } from "./_helpers.ts";
import { until, within } from "../wait.ts";

interface Token {
  mint: string;
  transferCount: number;
  volume: number | string;
  lastTransfer: { slot: number; amount: number | string };
  recentTransfers: { slot: number }[];
  _seq: string;
}

/** The view a frame is about: `view` of a `subscribed` frame, else `entity`. */
function viewOf(frame: Frame): string {
  return "view" in frame ? frame.view : frame.entity;
}

Deno.test("HyperStack client: snapshot, live updates, state, derived view, unsubscribe", async (t) => {
  await using server = await startTestServer();
  // 60 tokens: the list snapshot comes as two gzipped batches (50 + 10).
  await server.source.emit(...Array.from({ length: 60 }, (_, i) => transfer(`mint${i}`, 100 + i)));

  const hs = await HyperStack.connect(tokenStack(server.wsUrl), { url: server.wsUrl });
  await using recorded = recordClient(hs, server);
  const { states, issues, frames } = recorded;
  assert.equal(hs.connectionState, "connected");
  const views = hs.views.Token;

  let unsubscribedAt = -1;
  await t.step("list.watch(): the snapshot, then live patches", async () => {
    const updates: Update<unknown>[] = [];
    await within(5000, "Token/list updates", async () => {
      for await (const update of views.list.watch()) {
        updates.push(update);
        if (updates.length === 60) await server.source.emit(transfer("mint7", 500, 9));
        if (update.type === "patch") break; // breaking out unsubscribes
      }
    });
    unsubscribedAt = frames.length;
    const snapshot = updates.slice(0, 60);
    assert.ok(snapshot.every((u) => u.type === "upsert"));
    assert.equal(new Set(snapshot.map((u) => u.key)).size, 60, "every token once");
    const patch = updates.at(-1)!;
    assert.equal(updates.length, 61);
    assert.deepEqual([patch.type, patch.key], ["patch", "mint7"]);

    const tokens = views.list.getSync() as Token[];
    assert.equal(tokens.length, 60);
    const mint7 = tokens.find((token) => token.mint === "mint7")!;
    assert.equal(mint7.transferCount, 2);
    assert.equal(mint7.volume, 10);
    assert.deepEqual(mint7.recentTransfers.map((r) => r.slot), [107, 500], "appended");
  });

  await t.step("state.use(key): the entity, then each update merged", async () => {
    const seen: Token[] = [];
    await within(5000, "Token/state updates", async () => {
      for await (const token of views.state.use("mint7")) {
        seen.push(token as Token);
        // Token/list would get these too, were it still subscribed.
        if (seen.length === 1) {
          await server.source.emit(transfer("mint8", 501), transfer("mint7", 502));
        }
        if (seen.length === 2) break;
      }
    });
    assert.deepEqual(seen.map((token) => token.transferCount), [2, 3]);
    assert.equal(seen[1]!.lastTransfer.slot, 502);
    assert.equal(seen[1]!.recentTransfers.length, 3);
    assert.equal((views.state.getSync("mint7") as Token).transferCount, 3);
  });

  await t.step("after the list watch ended, no Token/list frame arrives", () => {
    const later = frames.slice(unsubscribedAt);
    assert.ok(later.some((f) => viewOf(f) === "Token/state" && f.op === "patch"), "control");
    assert.deepEqual(later.filter((f) => viewOf(f) === "Token/list").map((f) => f.op), []);
  });

  await t.step("latest.watch({take: 3}): a sorted window with deletes and upserts", async () => {
    const updates: Update<unknown>[] = [];
    await within(5000, "Token/latest updates", async () => {
      for await (const update of views.latest.watch({ take: 3 })) {
        updates.push(update);
        if (updates.length === 3) await server.source.emit(transfer("mintTop", 10_000));
        if (update.type === "upsert" && update.key === "mintTop") break;
      }
    });
    assert.deepEqual(
      updates.slice(0, 3).map((u) => [u.type, u.key]),
      [["upsert", "mint7"], ["upsert", "mint8"], ["upsert", "mint59"]],
    );
    assert.deepEqual(updates.slice(3).map((u) => [u.type, u.key]), [
      ["delete", "mint59"],
      ["upsert", "mintTop"],
    ]);
    const window = views.latest.getSync() as Token[];
    assert.deepEqual(window.map((token) => token.mint), ["mintTop", "mint7", "mint8"]);
  });

  await t.step("no socket issue, never an error state, then a clean disconnect", async () => {
    assert.deepEqual(issues, []);
    assert.ok(!states.includes("error") && !states.includes("reconnecting"), `${states}`);
    assert.equal(hs.connectionState, "connected");
    assert.equal(frames.slice(unsubscribedAt).filter((f) => viewOf(f) === "Token/list").length, 0);
    hs.disconnect();
    assert.equal(hs.connectionState, "disconnected");
    await until(() => server.app.ws.clientCount === 0, "the server to see the disconnect");
    assert.deepEqual(issues, []);
    assert.ok(!states.includes("error"));
  });
});
