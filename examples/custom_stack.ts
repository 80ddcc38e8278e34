/**
 * A user stack module: run it with
 *
 *   PHAROS_STACK=examples/custom_stack.ts deno task start
 *
 * It consumes the demo source's `Transfer` events, but keys them by wallet instead of
 * mint: `Wallet/list`, `Wallet/state`, `Wallet/append` and the derived
 * `Wallet/top` (wallets by amount received, highest first). `examples/custom_stack_demo.ts`
 * (`deno task example:custom_stack`) feeds it through the ingest endpoint instead.
 * @module
 */
import { defineStack } from "../src/mod.ts";

export default defineStack({
  name: "wallets",
  entities: {
    Wallet: {
      key: (event) => typeof event.data.to === "string" ? event.data.to : undefined,
      append: ["received"],
      handlers: {
        Transfer: (state, event) => {
          const amount = BigInt(String(event.data.amount ?? "0"));
          const total = (typeof state?.total === "bigint" ? state.total : 0n) + amount;
          return {
            wallet: event.data.to,
            total,
            // Sorting needs a number; millions of base units keep it exact and small.
            totalMillions: Number(total / 1_000_000n),
            received: [{ from: event.data.from, amount, slot: event.slot ?? null }],
          };
        },
      },
      views: { top: { sortBy: "totalMillions", order: "desc", take: 5 } },
    },
  },
});
