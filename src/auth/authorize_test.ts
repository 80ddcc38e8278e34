import assert from "node:assert/strict";
import { AUTH_DEFAULTS, type AuthConfig, ConfigError } from "../config/mod.ts";
import { recordLogs } from "../../tests/fakes/recording_log.ts";
import { getLogger } from "../log/mod.ts";
import { createAuthorize } from "./authorize.ts";
import { createStaticVerifier } from "./static_tokens.ts";

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

Deno.test("the upgrade decision is logged at debug under pharos.auth, never the token", async (t) => {
  const secret = "s3cret-static-token";
  const request = (headers: Record<string, string>) =>
    new Request("http://localhost/", { headers });
  const peer = "192.0.2.7:51234";

  await t.step("refusals with mode and code; admission with the subject", async () => {
    await using logs = await recordLogs(["pharos", "auth"]);
    const config = authConfig({
      authMode: "static",
      tokens: [secret],
      allowedOrigins: ["https://app.example.com"],
    });
    const setup = { verifier: createStaticVerifier([secret]), minter: undefined };
    const authorize = createAuthorize(config, setup, logs.log);
    await authorize(request({ origin: "https://evil.example" }), peer);
    await authorize(request({}), peer);
    await authorize(request({ authorization: "Basic abc" }), peer);
    await authorize(request({ authorization: "Bearer not-the-token" }), peer);
    const admitted = await authorize(request({ authorization: `Bearer ${secret}` }), peer);
    assert.ok(admitted !== undefined && "kind" in admitted && admitted.kind === "admitted");
    assert.deepEqual(logs.at("debug").map((r) => r.properties), [
      { peer, mode: "static", outcome: "refused", code: "origin-mismatch" },
      { peer, mode: "static", outcome: "refused", code: "token-missing" },
      { peer, mode: "static", outcome: "refused", code: "token-invalid-format" },
      { peer, mode: "static", outcome: "refused", code: "invalid-static-token" },
      { peer, mode: "static", outcome: "admitted", subject: "static:0" },
    ]);
    assert.match(logs.text(), /Upgrade from 192\.0\.2\.7:51234 refused \(static\): token-missing/);
    assert.match(logs.text(), /Upgrade from 192\.0\.2\.7:51234 admitted \(static\)/);
    assert.doesNotMatch(logs.text(), /s3cret|not-the-token|Basic abc/);
  });

  await t.step("PHAROS_AUTH=none with an Origin allow-list: admitted, mode none", async () => {
    await using logs = await recordLogs(["pharos", "auth"]);
    const config = authConfig({ allowedOrigins: ["https://app.example.com"] });
    const authorize = createAuthorize(config, { verifier: undefined, minter: undefined }, logs.log);
    assert.equal(await authorize(request({ origin: "https://app.example.com" }), peer), undefined);
    assert.deepEqual(logs.at("debug").map((r) => r.properties), [
      { peer, mode: "none", outcome: "admitted" },
    ]);
  });

  await t.step("at info: no decision lines, only the refusals logged there before", async () => {
    await using logs = await recordLogs(["pharos", "auth"], "info");
    const config = authConfig({ authMode: "static", tokens: [secret] });
    const setup = { verifier: createStaticVerifier([secret]), minter: undefined };
    const authorize = createAuthorize(config, setup, logs.log);
    await authorize(request({}), peer);
    await authorize(request({ authorization: "Bearer wrong" }), peer);
    await authorize(request({ authorization: `Bearer ${secret}` }), peer);
    assert.deepEqual(logs.records.map((r) => [r.level, r.properties]), [
      ["info", { peer, code: "invalid-static-token" }],
    ]);
  });
});
