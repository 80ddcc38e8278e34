import assert from "node:assert/strict";
import { AUTH_DEFAULTS, type AuthConfig, ConfigError } from "../config/mod.ts";
import { recordLogs } from "../../tests/fakes/recording_log.ts";
import { getLogger, type Logger } from "../log/mod.ts";
import { noopTelemetry } from "../telemetry/mod.ts";
import type { TokenMinter } from "./mint.ts";
import type { KeyStore } from "./key_store.ts";
import { type AuthRoutesOptions, createAuthRoutes, openAuth } from "./wiring.ts";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";

const log = getLogger(["pharos", "test"]);
const telemetry = noopTelemetry.auth;
const clock = new FakeClock();
const config = (overrides: Partial<AuthConfig>): AuthConfig => ({ ...AUTH_DEFAULTS, ...overrides });
const minter: TokenMinter = { mint: () => Promise.resolve({ token: "t", expiresAt: 1 }) };

const noSetup = { verifier: undefined, minter: undefined };
const routesOf = (auth: AuthConfig, extra: Partial<AuthRoutesOptions> = {}) =>
  createAuthRoutes(auth, { setup: noSetup, authorize: undefined, clock, log, telemetry, ...extra });

Deno.test("createAuthRoutes", async (t) => {
  await t.step("the defaults mount nothing: no upgrade check, no token endpoint", () => {
    const routes = routesOf(AUTH_DEFAULTS);
    assert.equal(routes.authorize, undefined);
    assert.equal(routes.tokenEndpoint, undefined);
    assert.deepEqual(routes.status({ rowRules: 0 }), {
      auth: { mode: "none", default_views: ["*"], row_rules: 0 },
    });
    assert.equal(routes.defaultAccess.views.allows("Anything/list"), true);
  });

  await t.step("the default grant is PHAROS_DEFAULT_VIEWS, shown with the row rules", () => {
    const routes = routesOf(config({ defaultViews: ["Token/list", "Order/**"] }));
    assert.equal(routes.defaultAccess.views.allows("Token/list"), true);
    assert.equal(routes.defaultAccess.views.allows("Order/state"), true);
    assert.equal(routes.defaultAccess.views.allows("Token/state"), false);
    assert.deepEqual(routes.defaultAccess.claims, {});
    assert.deepEqual(routes.status({ rowRules: 2 }), {
      auth: { mode: "none", default_views: ["Token/list", "Order/*"], row_rules: 2 },
    });
  });

  await t.step("an Origin allow-list alone gets an upgrade check", () => {
    const routes = routesOf(config({ allowedOrigins: ["https://app.example.com"] }));
    assert.equal(typeof routes.authorize, "function");
  });

  await t.step("an authorize override wins; a minter adds the token endpoint", () => {
    const authorize = () => undefined;
    const routes = routesOf(config({ authMode: "static", tokens: ["t"] }), {
      setup: { verifier: undefined, minter },
      authorize,
    });
    assert.equal(routes.authorize, authorize);
    assert.equal(typeof routes.tokenEndpoint, "function");
  });

  await t.step("status names the key set in force and its age in whole seconds", () => {
    const loadedAt = clock.now();
    const keys = { status: () => ({ keys: 2, loadedAt, source: "url" as const }) } as KeyStore;
    const routes = routesOf(config({ authMode: "jwt" }), {
      setup: { verifier: undefined, minter: undefined, keys },
      authorize: () => undefined,
    });
    clock.advance(2_600);
    assert.deepEqual(routes.status({ rowRules: 1 }), {
      auth: {
        mode: "jwt",
        default_views: ["*"],
        row_rules: 1,
        jwks: { source: "url", keys: 2, age_seconds: 3 },
      },
    });
  });
});

Deno.test("openAuth refuses keys it cannot use, naming the option", async () => {
  await assert.rejects(
    () => openAuth(config({ privateKey: "{}" }), { authorize: undefined, clock, log, telemetry }),
    (error) => error instanceof ConfigError && /PHAROS_AUTH_PRIVATE_KEY/.test(error.message),
  );
});

Deno.test("the token endpoint logs each token issued at debug, never the token or key", async (t) => {
  const key = "pk_live_secret";
  const routes = (log: Logger) =>
    createAuthRoutes(
      config({ privateKey: "{}", publishableKeys: `${key}=https://app.example.com` }),
      {
        setup: {
          verifier: undefined,
          minter: { mint: () => Promise.resolve({ token: "minted.jwt.value", expiresAt: 1700 }) },
        },
        authorize: undefined,
        clock,
        log,
        telemetry,
      },
    ).tokenEndpoint!;
  const post = (headers: Record<string, string>) =>
    new Request("http://localhost/ws/sessions", { method: "POST", headers });
  const browser = { authorization: `Bearer ${key}`, origin: "https://app.example.com" };

  await t.step("subject, expiry, origin and peer at debug", async () => {
    await using logs = await recordLogs(["pharos", "auth"]);
    const response = await routes(logs.log)(post(browser), "192.0.2.7:51234");
    assert.equal(response.status, 200);
    const body = await response.json();
    const [line, ...others] = logs.records;
    assert.deepEqual(others, []);
    assert.equal(line?.level, "debug");
    assert.deepEqual(line.properties, {
      peer: "192.0.2.7:51234",
      subject: line.properties["subject"],
      expires_at: 1700,
      origin: "https://app.example.com",
    });
    assert.match(String(line.properties["subject"]), /^session:[0-9a-f-]{36}$/);
    assert.equal(body.expires_at, 1700);
    assert.match(logs.text(), /Issued a token to 192\.0\.2\.7:51234 for session:/);
    assert.doesNotMatch(logs.text(), /minted\.jwt\.value|pk_live_secret/);
  });

  await t.step("at info nothing is logged for an issued token", async () => {
    await using logs = await recordLogs(["pharos", "auth"], "info");
    const response = await routes(logs.log)(post(browser), "192.0.2.7:1");
    assert.equal(response.status, 200);
    await response.body?.cancel();
    assert.deepEqual(logs.records, []);
  });
});
