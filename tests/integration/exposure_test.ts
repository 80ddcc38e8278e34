/**
 * What each listener exposes: with `PHAROS_ADMIN_PORT` the admin routes (`/metrics`,
 * `/status`) move to their own port (started by `main.ts`), `PHAROS_ADMIN_TOKEN` guards
 * them, and `PHAROS_ALLOWED_ORIGINS` limits which browser origins may upgrade.
 */
import assert from "node:assert/strict";
import { freePort, opens, upgradeAttempt } from "../fakes/auth_keys.ts";
import { errorBody } from "../fakes/error_response.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { startEnvServer } from "../fakes/test_server.ts";
import { until } from "../wait.ts";

const ADMIN_TOKEN = "admin-s3cret-token";

/** Status of GET `url` (body discarded), with an optional bearer token. */
async function statusOf(url: string, token?: string): Promise<number> {
  const response = await fetch(url, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  await response.body?.cancel();
  return response.status;
}

/** Waits until something answers /health on `port` (the admin listener starts after main's). */
function listening(port: number): Promise<void> {
  return until(
    async () => await statusOf(`http://127.0.0.1:${port}/health`) === 200,
    `something listening on ${port}`,
    { timeoutMs: 15_000, everyMs: 50 },
  );
}

Deno.test("admin port: /metrics and /status only there; /health on both (main.ts)", async (t) => {
  const adminPort = freePort();
  await using proc = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_ADMIN_PORT: String(adminPort),
  });
  const port = await proc.port;
  await listening(adminPort);
  const main = `http://127.0.0.1:${port}`;
  const admin = `http://127.0.0.1:${adminPort}`;

  await t.step("main port: /metrics and /status 404; /health and /ready served", async () => {
    assert.equal(await statusOf(`${main}/metrics`), 404);
    assert.equal(await statusOf(`${main}/status`), 404);
    assert.equal(await statusOf(`${main}/health`), 200);
    assert.notEqual(await statusOf(`${main}/ready`), 404);
  });

  await t.step("admin port: /metrics (Prometheus text) and /status (JSON), /health", async () => {
    const metrics = await fetch(`${admin}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain/);
    assert.match(await metrics.text(), /ws_/);
    const status = await fetch(`${admin}/status`);
    assert.equal(status.status, 200);
    assert.equal(typeof (await status.json()).connections, "number");
    assert.equal(await statusOf(`${admin}/health`), 200);
  });

  await t.step("WebSockets upgrade on the main port only", async () => {
    await using client = await TestClient.connect(`ws://127.0.0.1:${port}`);
    client.send({ type: "subscribe", view: "Token/list" });
    await client.waitFor((f) => f.some((x) => x.json.op === "subscribed"), 5000, "subscribed");
    const refused = await upgradeAttempt(admin);
    await refused.body?.cancel();
    assert.equal(refused.status, 404);
  });
});

Deno.test("admin token on the admin port: 401 without or with a wrong bearer (main.ts)", async () => {
  const adminPort = freePort();
  await using proc = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_ADMIN_PORT: String(adminPort),
    PHAROS_ADMIN_TOKEN: ADMIN_TOKEN,
  });
  const port = await proc.port;
  await listening(adminPort);
  const admin = `http://127.0.0.1:${adminPort}`;
  for (const path of ["/metrics", "/status"]) {
    const without = await fetch(`${admin}${path}`);
    assert.equal(without.status, 401, path);
    assert.match(without.headers.get("www-authenticate") ?? "", /^Bearer/);
    const body = await without.json();
    assert.equal(body.error, "admin-token-required");
    assert.ok(!JSON.stringify(body).includes(ADMIN_TOKEN), "the token is never echoed");
    assert.equal(await statusOf(`${admin}${path}`, "wrong-token"), 401, path);
    assert.equal(await statusOf(`${admin}${path}`, `${ADMIN_TOKEN}x`), 401, path);
    assert.equal(await statusOf(`${admin}${path}`, ADMIN_TOKEN), 200, path);
  }
  assert.equal(await statusOf(`${admin}/health`), 200, "/health needs no token");
  assert.equal(await statusOf(`http://127.0.0.1:${port}/metrics`, ADMIN_TOKEN), 404);
});

Deno.test("admin token without an admin port guards /status on the main port", async () => {
  await using server = await startEnvServer({ PHAROS_ADMIN_TOKEN: ADMIN_TOKEN });
  assert.equal(await statusOf(`${server.httpUrl}/status`), 401);
  assert.equal(await statusOf(`${server.httpUrl}/status`, "nope"), 401);
  assert.equal(await statusOf(`${server.httpUrl}/status`, ADMIN_TOKEN), 200);
  assert.equal(await statusOf(`${server.httpUrl}/health`), 200);
});

Deno.test("PHAROS_ALLOWED_ORIGINS: listed origins and non-browser clients upgrade", async (t) => {
  await using server = await startEnvServer({
    PHAROS_ALLOWED_ORIGINS: "https://app.example,https://admin.example",
  });
  const flows = async (headers: Record<string, string>) => {
    await using client = await TestClient.connect(server.wsUrl, headers);
    client.send({ type: "subscribe", view: "Token/list" });
    await client.waitFor((f) => f.some((x) => x.json.op === "subscribed"), 5000, "subscribed");
  };

  await t.step("a listed Origin → connects, frames flow", async () => {
    await flows({ origin: "https://app.example" });
    await flows({ origin: "https://admin.example" });
  });

  await t.step("no Origin (a non-browser client) → connects", async () => {
    await flows({});
  });

  await t.step("another Origin → 403 origin-mismatch (§6)", async () => {
    for (
      const origin of [
        "https://evil.example",
        "http://app.example", // another scheme
        "https://app.example:8443", // another port
        "https://app.example.evil.example",
        "null",
      ]
    ) {
      const body = await errorBody(
        await upgradeAttempt(server.httpUrl, { headers: { origin } }),
        403,
        "origin-mismatch",
      );
      assert.equal(body.retryable, false, origin);
    }
    assert.equal(await opens(server.wsUrl, { origin: "https://evil.example" }), false);
  });
  await until(() => server.app.ws.clientCount === 0, "every socket to close");
});
