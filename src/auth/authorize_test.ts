import assert from "node:assert/strict";
import { AUTH_DEFAULTS, type AuthConfig, ConfigError } from "../config/mod.ts";
import { getLogger } from "../log/mod.ts";
import { createAuthorize } from "./authorize.ts";

const log = getLogger(["pharos", "test"]);

function authConfig(overrides: Partial<AuthConfig>): AuthConfig {
  return { ...AUTH_DEFAULTS, ...overrides };
}

Deno.test("an auth mode without its verifier fails closed at creation", () => {
  const config = authConfig({ authMode: "static", tokens: ["t"] });
  assert.throws(
    () => createAuthorize(config, { verifier: undefined, minter: undefined }, log),
    ConfigError,
  );
});

Deno.test("with PHAROS_AUTH=none only the Origin allow-list applies", async () => {
  const config = authConfig({ allowedOrigins: ["https://app.example.com"] });
  const authorize = createAuthorize(config, { verifier: undefined, minter: undefined }, log);
  const request = (origin?: string) =>
    new Request("http://localhost/", origin === undefined ? {} : { headers: { origin } });
  assert.equal(await authorize(request(), "127.0.0.1:1"), undefined, "no Origin: not a browser");
  assert.equal(await authorize(request("https://app.example.com"), "127.0.0.1:1"), undefined);
  const refused = await authorize(request("https://evil.example"), "127.0.0.1:1");
  assert.equal(refused !== undefined && "status" in refused ? refused.status : 0, 403);
  assert.equal(refused !== undefined && "code" in refused ? refused.code : "", "origin-mismatch");
});
