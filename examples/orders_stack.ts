/**
 * A stack whose users see only their own rows: each `Order` belongs to the token subject
 * in its `owner` field. Run it with the ingest source and JWT auth (README "Security",
 * "Who sees what"):
 *
 *   deno task keys --out-dir .keys --kid k1
 *   PHAROS_STACK=examples/orders_stack.ts PHAROS_SOURCES=ingest PHAROS_INGEST_TOKEN=dev-ingest \
 *     PHAROS_AUTH=jwt PHAROS_AUTH_PUBLIC_KEYS=.keys/jwks.json deno task start
 *
 * An order event: `{"type":"Order","data":{"id":"o-1","owner":"alice","status":"open","amount":12}}`.
 * A client whose token has `"sub": "alice"` sees `o-1` in `Order/list` and `Order/state`;
 * Bob's client sees nothing of it, not even that it exists. When an event moves the order to
 * another owner, it leaves Alice's views (`delete`) and arrives whole in the new owner's.
 * @module
 */
import { defineStack } from "../src/mod.ts";

/** The fields an `Order` event may set; anything else in `data` is ignored. */
const FIELDS = ["owner", "status", "amount"] as const;

export default defineStack({
  name: "orders",
  entities: {
    Order: {
      key: (event) => typeof event.data.id === "string" ? event.data.id : undefined,
      handlers: {
        Order: (_state, event) => {
          const patch: Record<string, unknown> = {};
          for (const field of FIELDS) {
            if (event.data[field] !== undefined) patch[field] = event.data[field];
          }
          return patch;
        },
      },
      // Every view of Order (list, state, append) shows a row only to tokens whose `sub`
      // claim equals the row's `owner`.
      rows: { field: "owner", claim: "sub" },
    },
  },
  sources: [{ kind: "ingest" }],
});
