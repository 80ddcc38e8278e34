/**
 * The benchmark's runaway stack: `Tick` counts per key, `Spin` never returns (a handler
 * stuck in a loop, which only killing its host ends).
 * @module
 */
import { defineStack } from "../src/mod.ts";

export default defineStack({
  name: "runaway",
  entities: {
    Tick: {
      handlers: {
        Tick: (state) => ({ n: ((state?.n as number | undefined) ?? 0) + 1 }),
        Spin: () => {
          while (true) { /* runaway */ }
        },
      },
    },
  },
  sources: [{ kind: "ingest" }],
});
