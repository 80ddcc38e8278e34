/**
 * The row-rule benchmark's stack with the rule: `rows_stack.ts`'s `Token`, each row shown
 * only to the tokens whose `sub` equals its `owner`.
 * @module
 */
import { defineStack } from "../src/mod.ts";
import { ownedToken } from "./rows_stack.ts";

export default defineStack({
  name: "owned-tokens",
  entities: { Token: { ...ownedToken, rows: { field: "owner", claim: "sub" } } },
  sources: [{ kind: "ingest" }],
});
