import assert from "node:assert/strict";
import { AUTH_DEFAULTS, type AuthConfig, ConfigError } from "../config/mod.ts";
import { recordLogs } from "../../tests/fakes/recording_log.ts";
import { getLogger, type Logger } from "../log/mod.ts";
import { noopTelemetry } from "../telemetry/mod.ts";
import type { TokenMinter } from "./mint.ts";
import { createAuthRoutes } from "./wiring.ts";

const log = getLogger(["pharos", "test"]);
const telemetry = noopTelemetry.auth;
const config = (overrides: Partial<AuthConfig>): AuthConfig => ({ ...AUTH_DEFAULTS, ...overrides });
const minter: TokenMinter = { mint: () => Promise.resolve({ token: "t", expiresAt: 1 }) };

Deno.test("createAuthRoutes", async (t) => {
  await t.step("the defaults mount nothing: no upgrade check, no token endpoint", () => {
    const routes = createAuthRoutes(AUTH_DEFAULTS, {
      setup: undefined,
      authorize: undefined,
      log,
      telemetry,
    });
    assert.equal(routes.authorize, undefined);
    assert.equal(routes.tokenEndpoint, undefined);
  });

  await t.step("an auth mode or private key without prepareAuth's setup is refused", () => {
    for (const overrides of [{ authMode: "jwt" as const }, { privateKey: "{}" }]) {
      assert.throws(
        () =>
          createAuthRoutes(config(overrides), {
            setup: undefined,
            authorize: undefined,
            log,
            telemetry,
          }),
        (error) => error instanceof ConfigError && /prepareAuth/.test(error.message),
      );
    }
  });

  await t.step("an Origin allow-list alone gets an upgrade check", () => {
    const routes = createAuthRoutes(config({ allowedOrigins: ["https://app.example.com"] }), {
      setup: undefined,
      authorize: undefined,
      log,
      telemetry,
    });
    assert.equal(typeof routes.authorize, "function");
  });

  await t.step("an authorize override wins; a minter adds the token endpoint", () => {
    const authorize = () => undefined;
    const routes = createAuthRoutes(config({ authMode: "static", tokens: ["t"] }), {
      setup: { verifier: undefined, minter },
      authorize,
      log,
      telemetry,
    });
    assert.equal(routes.authorize, authorize);
    assert.equal(typeof routes.tokenEndpoint, "function");
  });
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
