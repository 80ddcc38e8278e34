/**
 * The cluster benchmark's ledger stack: each `Mark` event counts itself on its bucket, by
 * id (`seen[id]`: 1 once applied, 2 if applied twice), so a bucket's snapshot tells which
 * events arrived and how often. Objects merge key by key and are not capped like arrays,
 * so a bucket keeps every id it saw.
 * @module
 */
import { defineStack } from "../src/mod.ts";

export default defineStack({
  name: "ledger",
  entities: {
    Bucket: {
      key: (event) => typeof event.data.bucket === "string" ? event.data.bucket : undefined,
      handlers: {
        Mark: (state, event) => {
          const id = String(event.data.id);
          const seen = (state?.seen ?? {}) as Record<string, number>;
          return {
            bucket: event.data.bucket,
            n: ((state?.n as number | undefined) ?? 0) + 1,
            seen: { [id]: (seen[id] ?? 0) + 1 },
          };
        },
      },
    },
  },
});
