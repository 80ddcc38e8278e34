import assert from "node:assert/strict";
import { demoStack, type HandlerContext, type PharosEvent } from "./mod.ts";

const context: HandlerContext = { key: "mintA", signal: new AbortController().signal };

function transfer(amount: string, slot?: number): PharosEvent {
  return {
    type: "Transfer",
    ...(slot === undefined ? {} : { slot }),
    data: { mint: "mintA", from: "alice", to: "bob", amount },
  };
}

Deno.test("demoStack", async (t) => {
  const token = demoStack.entities.Token!;
  const handle = token.handlers.Transfer!;

  await t.step("declares Token keyed by mint with the derived latest view", () => {
    assert.equal(demoStack.name, "tokens");
    assert.equal(token.key?.(transfer("1")), "mintA");
    assert.equal(token.key?.({ type: "Transfer", data: {} }), undefined);
    assert.deepEqual(token.append, ["recentTransfers"]);
    assert.deepEqual(token.views?.latest, { sortBy: "lastTransfer.slot", order: "desc", take: 10 });
  });

  await t.step("a first Transfer creates the token with a bigint volume", () => {
    const patch = handle(undefined, transfer("9007199254740993", 77), context);
    const last = { from: "alice", to: "bob", amount: 9007199254740993n, slot: 77 };
    assert.deepEqual(patch, {
      mint: "mintA",
      transferCount: 1,
      volume: 9007199254740993n,
      lastTransfer: last,
      recentTransfers: [last],
    });
  });

  await t.step("later Transfers add to the count and the volume", () => {
    const state = { mint: "mintA", transferCount: 4, volume: 10n };
    const patch = handle(state, transfer("5"), context) as Record<string, unknown>;
    assert.equal(patch.transferCount, 5);
    assert.equal(patch.volume, 15n);
    assert.deepEqual(patch.lastTransfer, { from: "alice", to: "bob", amount: 5n, slot: null });
  });
});
