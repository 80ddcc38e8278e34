import assert from "node:assert/strict";
import { AUTH_DEFAULTS, type AuthConfig, ConfigError } from "../config/mod.ts";
import { getLogger } from "../log/mod.ts";
import type { TokenMinter } from "./mint.ts";
import { createAuthRoutes } from "./wiring.ts";

const log = getLogger(["pharos", "test"]);
const config = (overrides: Partial<AuthConfig>): AuthConfig => ({ ...AUTH_DEFAULTS, ...overrides });
const minter: TokenMinter = { mint: () => Promise.resolve({ token: "t", expiresAt: 1 }) };

Deno.test("createAuthRoutes", async (t) => {
  await t.step("the defaults mount nothing: no upgrade check, no token endpoint", () => {
    const routes = createAuthRoutes(AUTH_DEFAULTS, { setup: undefined, authorize: undefined, log });
    assert.equal(routes.authorize, undefined);
    assert.equal(routes.tokenEndpoint, undefined);
  });

  await t.step("an auth mode or private key without prepareAuth's setup is refused", () => {
    for (const overrides of [{ authMode: "jwt" as const }, { privateKey: "{}" }]) {
      assert.throws(
        () => createAuthRoutes(config(overrides), { setup: undefined, authorize: undefined, log }),
        (error) => error instanceof ConfigError && /prepareAuth/.test(error.message),
      );
    }
  });

  await t.step("an Origin allow-list alone gets an upgrade check", () => {
    const routes = createAuthRoutes(config({ allowedOrigins: ["https://app.example.com"] }), {
      setup: undefined,
      authorize: undefined,
      log,
    });
    assert.equal(typeof routes.authorize, "function");
  });

  await t.step("an authorize override wins; a minter adds the token endpoint", () => {
    const authorize = () => undefined;
    const routes = createAuthRoutes(config({ authMode: "static", tokens: ["t"] }), {
      setup: { verifier: undefined, minter },
      authorize,
      log,
    });
    assert.equal(routes.authorize, authorize);
    assert.equal(typeof routes.tokenEndpoint, "function");
  });
});
