import assert from "node:assert/strict";
import ordersStack from "../../examples/orders_stack.ts";
import { stackFromManifest, toManifest } from "./manifest.ts";

Deno.test("a stack's row rules cross from the handler host to the server", () => {
  const manifest = JSON.parse(JSON.stringify(toManifest(ordersStack)));
  assert.deepEqual(manifest.entities.Order.rows, { field: "owner", claim: "sub" });
  const stack = stackFromManifest(manifest);
  assert.deepEqual(stack.entities.Order?.rows, { field: "owner", claim: "sub" });
  // The host is not trusted to describe itself: a bad rule is refused, as in any stack.
  manifest.entities.Order.rows = { field: "owner", claim: "sub", views: ["secret"] };
  assert.throws(() => stackFromManifest(manifest), /no view "secret"/);
});
