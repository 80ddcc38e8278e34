import { defineStack } from "./define_stack.ts";
import type { PharosEvent, Stack } from "./types.ts";

/** The demo `Transfer` event payload. */
export interface DemoTransfer {
  readonly mint: string;
  readonly from: string;
  readonly to: string;
  /** Token base units; a decimal string, as big amounts exceed 2^53. */
  readonly amount: string;
}

function transferOf(event: PharosEvent): DemoTransfer {
  return event.data as unknown as DemoTransfer;
}

/**
 * The built-in demo stack: `Token` entities keyed by mint, updated by `Transfer` events,
 * with `Token/list`, `Token/state`, `Token/append` and the derived `Token/latest`
 * (ten most recently transferred tokens).
 */
export const demoStack: Stack = defineStack({
  name: "tokens",
  entities: {
    Token: {
      key: (event) => typeof event.data.mint === "string" ? event.data.mint : undefined,
      append: ["recentTransfers"],
      handlers: {
        Transfer: (state, event) => {
          const transfer = transferOf(event);
          const amount = BigInt(transfer.amount);
          // volume is a bigint in handler state: it soon passes 2^53 and goes on the
          // wire as a decimal string, while transferCount stays a plain number.
          const volume = (typeof state?.volume === "bigint" ? state.volume : 0n) + amount;
          const transferCount =
            (typeof state?.transferCount === "number" ? state.transferCount : 0) +
            1;
          const last = { from: transfer.from, to: transfer.to, amount, slot: event.slot ?? null };
          return {
            mint: transfer.mint,
            transferCount,
            volume,
            lastTransfer: last,
            recentTransfers: [last],
          };
        },
      },
      views: {
        latest: { sortBy: "lastTransfer.slot", order: "desc", take: 10 },
      },
    },
  },
});
