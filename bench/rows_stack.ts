/**
 * The row-rule benchmark's stack (bench/rows_scenario.ts), without a rule: the demo's
 * `Token` entity keyed by mint, whose `Transfer` handler also copies the event's
 * `data.owner` into the row. `rows_stack_ruled.ts` is the same entity with
 * `rows: { field: "owner", claim: "sub" }`, so the two runs differ by the rule alone.
 * @module
 */
import { defineStack, type EntityDefinition } from "../src/mod.ts";

/** `Token`: the demo handler's fields (no append path, no derived view) plus `owner`. */
export const ownedToken: EntityDefinition = {
  key: (event) => typeof event.data.mint === "string" ? event.data.mint : undefined,
  handlers: {
    Transfer: (state, event) => {
      const data = event.data as Record<string, string>;
      const amount = BigInt(data.amount ?? "0");
      const volume = (typeof state?.volume === "bigint" ? state.volume : 0n) + amount;
      const transferCount = (typeof state?.transferCount === "number" ? state.transferCount : 0) +
        1;
      return {
        mint: data.mint,
        owner: data.owner,
        transferCount,
        volume,
        lastTransfer: { from: data.from, to: data.to, amount, slot: event.slot ?? null },
      };
    },
  },
};

export default defineStack({
  name: "owned-tokens",
  entities: { Token: ownedToken },
  sources: [{ kind: "ingest" }],
});
