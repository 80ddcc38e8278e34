import assert from "node:assert/strict";
import { presentedToken } from "./presented_token.ts";

Deno.test("the token comes from Authorization: Bearer first, else hs_token", () => {
  const url = "http://localhost/?hs_token=from-query";
  assert.equal(presentedToken(new Request(url)), "from-query");
  assert.equal(
    presentedToken(new Request(url, { headers: { authorization: "Bearer from-header" } })),
    "from-header",
  );
  assert.equal(
    presentedToken(new Request(url, { headers: { authorization: "Basic dXNlcjpwdw==" } })),
    "",
    "a non-Bearer Authorization is a malformed credential, not a fallback to the query",
  );
  assert.equal(presentedToken(new Request("http://localhost/")), undefined);
});
