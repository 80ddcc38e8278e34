/**
 * HyperStack's official client (`hyperstack-typescript`) with each of its `auth` options
 * against a real Pharos (docs/protocol.md §8): a static `token`, a `getToken` provider of
 * EdDSA JWTs, and `tokenEndpoint` + `publishableKey` against Pharos's own
 * `POST /ws/sessions`; refused connections as the client reports them; and the token
 * endpoint itself (keys, origins, CORS preflight, methods).
 */
import assert from "node:assert/strict";
import { type AuthConfig, HyperStack } from "hyperstack-typescript";
import {
  claims,
  generateKeyPair,
  nowSeconds,
  signJwt,
  upgradeAttempt,
  writeJwks,
} from "../fakes/auth_keys.ts";
import { errorBody } from "../fakes/error_response.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { type EnvServer, startEnvServer } from "../fakes/test_server.ts";
import { tokenStack } from "./_helpers.ts";
import { until, within } from "../wait.ts";

const ISSUER = "https://pharos.test";
const AUDIENCE = "pharos-clients";

type Auth = AuthConfig;

/** Connects with `auth`, waits for one Token/list update (demo data), disconnects. */
async function connectsAndReceives(server: EnvServer, auth: Auth): Promise<void> {
  const hs = await HyperStack.connect(tokenStack(server.wsUrl), { url: server.wsUrl, auth });
  try {
    assert.equal(hs.connectionState, "connected");
    const update = await within(10_000, "a Token/list update", async () => {
      for await (const update of hs.views.Token.list.watch()) return update;
      throw new Error("the watch ended without an update");
    });
    assert.equal(typeof update.key, "string");
  } finally {
    hs.disconnect();
    await until(() => server.app.ws.clientCount === 0, "the client to disconnect");
  }
}

/**
 * Connects with `auth` and expects the client to refuse: `connect()` rejects and the
 * state goes to `error`, never `connected`. Returns the client's error.
 */
async function refused(
  server: EnvServer,
  auth: Auth | undefined,
): Promise<{ code: string; message: string }> {
  const hs = await HyperStack.connect(tokenStack(server.wsUrl), {
    url: server.wsUrl,
    autoReconnect: false,
    maxReconnectAttempts: 0,
    ...(auth === undefined ? {} : { auth }),
  });
  const states: string[] = [];
  hs.onConnectionStateChange((state) => states.push(state));
  try {
    const error = await within(5000, "the refusal", () => hs.connect()).then(
      () => assert.fail("connect() resolved; the connection should be refused"),
      (error: unknown) => error as { code: string; message: string; name: string },
    );
    assert.equal(error.name, "HyperStackError", String(error));
    assert.ok(states.includes("error"), `states ${states}`);
    assert.ok(!states.includes("connected"), `states ${states}`);
    assert.equal(hs.isConnected(), false);
    return error;
  } finally {
    hs.disconnect();
    await until(() => server.app.ws.clientCount === 0, "no client left on the server");
  }
}

Deno.test("HyperStack client, static tokens: auth.token connects; missing or bad is refused", async (t) => {
  await using server = await startEnvServer({
    PHAROS_AUTH: "static",
    PHAROS_AUTH_TOKENS: "client-token-1",
  });
  await t.step("auth: { token } → connected, data arrives", async () => {
    await connectsAndReceives(server, { token: "client-token-1" });
  });
  await t.step("no auth → refused (CONNECTION_ERROR, state error)", async () => {
    const error = await refused(server, undefined);
    assert.equal(error.code, "CONNECTION_ERROR");
  });
  await t.step("a wrong token → refused", async () => {
    const error = await refused(server, { token: "client-token-2" });
    assert.equal(error.code, "CONNECTION_ERROR");
  });
});

Deno.test("HyperStack client, jwt: auth.getToken connects; a bad token is refused", async (t) => {
  const key = await generateKeyPair("main");
  const forger = await generateKeyPair("main");
  await using jwks = await writeJwks(key.publicJwk);
  await using server = await startEnvServer({
    PHAROS_AUTH: "jwt",
    PHAROS_AUTH_PUBLIC_KEYS: jwks.path,
    PHAROS_AUTH_ISSUER: ISSUER,
    PHAROS_AUTH_AUDIENCE: AUDIENCE,
  });
  const header = { alg: "EdDSA", typ: "JWT", kid: "main" };

  await t.step("auth: { getToken } returning a JWT string → connected, data arrives", async () => {
    let calls = 0;
    await connectsAndReceives(server, {
      getToken: async () => {
        calls++;
        return await signJwt(key.privateKey, claims(ISSUER, AUDIENCE), header);
      },
    });
    assert.equal(calls, 1);
  });

  await t.step("getToken returning { token, expiresAt } → connected", async () => {
    const exp = nowSeconds() + 600;
    await connectsAndReceives(server, {
      getToken: async () => ({
        token: await signJwt(key.privateKey, claims(ISSUER, AUDIENCE, { exp }), header),
        expiresAt: exp,
      }),
    });
  });

  await t.step("getToken returning a forged JWT → refused", async () => {
    await refused(server, {
      getToken: () => signJwt(forger.privateKey, claims(ISSUER, AUDIENCE), header),
    });
  });

  await t.step("getToken returning a token for another audience → refused", async () => {
    await refused(server, {
      getToken: () => signJwt(key.privateKey, claims(ISSUER, "elsewhere"), header),
    });
  });
});

Deno.test("HyperStack client: auth.tokenEndpoint + publishableKey against POST /ws/sessions", async (t) => {
  const signing = await generateKeyPair("pharos-signing");
  // The JWKS lists an unrelated key only: the endpoint's tokens verify because
  // prepareAuth adds the private key's public half.
  const unrelated = await generateKeyPair("partner");
  await using jwks = await writeJwks(unrelated.publicJwk);
  await using server = await startEnvServer({
    PHAROS_AUTH: "jwt",
    PHAROS_AUTH_PUBLIC_KEYS: jwks.path,
    PHAROS_AUTH_ISSUER: ISSUER,
    PHAROS_AUTH_AUDIENCE: AUDIENCE,
    PHAROS_AUTH_PRIVATE_KEY: JSON.stringify(signing.privateJwk),
    PHAROS_AUTH_PUBLISHABLE_KEYS: "pk_test=*,pk_site=https://app.example",
  });
  const endpoint = `${server.httpUrl}/ws/sessions`;

  await t.step("tokenEndpoint + pk_test → connected, data arrives", async () => {
    await connectsAndReceives(server, { tokenEndpoint: endpoint, publishableKey: "pk_test" });
  });

  await t.step("an unknown publishable key → refused with the endpoint's code", async () => {
    const error = await refused(server, { tokenEndpoint: endpoint, publishableKey: "pk_nope" });
    assert.equal(error.code, "INVALID_STATIC_TOKEN");
    assert.match(error.message, /401/);
  });

  await t.step("a key bound to another origin (Deno sends no Origin) → refused", async () => {
    const error = await refused(server, { tokenEndpoint: endpoint, publishableKey: "pk_site" });
    assert.equal(error.code, "ORIGIN_MISMATCH");
  });
});

Deno.test("token endpoint POST /ws/sessions directly", async (t) => {
  const signing = await generateKeyPair();
  await using jwks = await writeJwks(signing.publicJwk);
  await using server = await startEnvServer({
    PHAROS_AUTH: "jwt",
    PHAROS_AUTH_PUBLIC_KEYS: jwks.path,
    PHAROS_AUTH_ISSUER: ISSUER,
    PHAROS_AUTH_PRIVATE_KEY: JSON.stringify(signing.privateJwk),
    PHAROS_AUTH_PUBLISHABLE_KEYS: "pk_any=*,pk_site=https://app.example",
    PHAROS_AUTH_TOKEN_TTL_S: "120",
    PHAROS_ALLOWED_ORIGINS: "https://app.example",
  });
  const endpoint = `${server.httpUrl}/ws/sessions`;
  const post = (key: string | undefined, headers: Record<string, string> = {}) =>
    fetch(endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
        ...headers,
      },
      body: JSON.stringify({ websocket_url: server.wsUrl }),
    });

  await t.step("a bound key from its origin → a token bound to that origin", async () => {
    const before = nowSeconds();
    const response = await post("pk_site", { origin: "https://app.example" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), "https://app.example");
    assert.equal(response.headers.get("cache-control"), "no-store");
    const body = await response.json();
    assert.deepEqual(Object.keys(body).sort(), ["expires_at", "token"]);
    assert.ok(body.expires_at >= before + 120 && body.expires_at <= nowSeconds() + 120);
    const payload = JSON.parse(
      atob(body.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")),
    );
    assert.equal(payload.origin, "https://app.example");
    assert.equal(payload.iss, ISSUER);
    assert.equal(payload.exp, body.expires_at);
    // It opens a socket from that origin, and is refused from another one.
    await using client = await TestClient.connect(`${server.wsUrl}/?hs_token=${body.token}`, {
      origin: "https://app.example",
    });
    client.send({ type: "subscribe", view: "Token/list" });
    await client.waitFor((f) => f.some((x) => x.json.op === "subscribed"), 5000, "subscribed");
    await errorBody(
      await upgradeAttempt(server.httpUrl, {
        path: `/?hs_token=${body.token}`,
        headers: { origin: "https://other.example" },
      }),
      403,
      "origin-mismatch",
    );
  });

  await t.step("a * key without Origin → 200", async () => {
    const response = await post("pk_any");
    assert.equal(response.status, 200);
    assert.equal(typeof (await response.json()).token, "string");
  });

  await t.step(
    "an unknown key → 401 invalid-static-token; no key → 401 token-missing",
    async () => {
      await errorBody(await post("pk_unknown"), 401, "invalid-static-token");
      await errorBody(await post(undefined), 401, "token-missing");
    },
  );

  await t.step("a key bound to another origin → 403 origin-mismatch", async () => {
    await errorBody(
      await post("pk_site", { origin: "https://evil.example" }),
      403,
      "origin-mismatch",
    );
    await errorBody(await post("pk_site"), 403, "origin-mismatch");
  });

  await t.step("OPTIONS preflight → 204 with CORS headers for an allowed origin only", async () => {
    const preflight = (origin: string) =>
      fetch(endpoint, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      });
    const allowed = await preflight("https://app.example");
    await allowed.body?.cancel();
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.example");
    assert.match(allowed.headers.get("access-control-allow-methods") ?? "", /POST/);
    const allowHeaders = (allowed.headers.get("access-control-allow-headers") ?? "").toLowerCase();
    assert.match(allowHeaders, /authorization/);
    assert.match(allowHeaders, /content-type/);
    const foreign = await preflight("https://evil.example");
    await foreign.body?.cancel();
    assert.equal(foreign.status, 204);
    assert.equal(foreign.headers.get("access-control-allow-origin"), null);
  });

  await t.step("GET → 405 with Allow: POST", async () => {
    const response = await fetch(endpoint);
    assert.equal(response.headers.get("allow"), "POST");
    await errorBody(response, 405, "method-not-allowed");
  });
  await until(() => server.app.ws.clientCount === 0, "every socket to close");
});
