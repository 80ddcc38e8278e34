import assert from "node:assert/strict";
import { createAuthorize, presentedToken } from "./app_auth.ts";
import { ConfigError, parseConfig } from "./config/mod.ts";
import { getLogger } from "./log/mod.ts";

const log = getLogger(["pharos", "test"]);

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

Deno.test("an auth mode without its verifier fails closed at creation", () => {
  const config = parseConfig({ env: { PHAROS_AUTH: "static", PHAROS_AUTH_TOKENS: "t" } });
  assert.throws(
    () => createAuthorize(config, { verifier: undefined, minter: undefined }, log),
    ConfigError,
  );
});

Deno.test("with PHAROS_AUTH=none only the Origin allow-list applies", async () => {
  const config = parseConfig({ env: { PHAROS_ALLOWED_ORIGINS: "https://app.example.com" } });
  const authorize = createAuthorize(config, { verifier: undefined, minter: undefined }, log);
  const request = (origin?: string) =>
    new Request("http://localhost/", origin === undefined ? {} : { headers: { origin } });
  assert.equal(await authorize(request(), "127.0.0.1:1"), undefined, "no Origin: not a browser");
  assert.equal(await authorize(request("https://app.example.com"), "127.0.0.1:1"), undefined);
  const refused = await authorize(request("https://evil.example"), "127.0.0.1:1");
  assert.equal(refused !== undefined && "status" in refused ? refused.status : 0, 403);
  assert.equal(refused !== undefined && "code" in refused ? refused.code : "", "origin-mismatch");
});
