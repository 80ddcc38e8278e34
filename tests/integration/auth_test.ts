// deno-lint-ignore-file no-console -- prints the hostile-token summary line
/**
 * Authentication at the WebSocket upgrade, token limits, in-band refresh and the
 * admission limits, against a real server (docs/protocol.md §6, §8): static tokens, EdDSA JWTs
 * (and hostile ones), the `limits` claim, `refresh_auth`, token expiry mid-session, and
 * the per-IP, handshake-rate and message-rate limits with their metrics.
 */
import assert from "node:assert/strict";
import {
  claims,
  fromBase64Url,
  generateKeyPair,
  hs256Jwt,
  nowSeconds,
  sampleSum,
  signJwt,
  unsignedJwt,
  upgradeAttempt,
  writeJwks,
} from "../fakes/auth_keys.ts";
import { errorBody } from "../fakes/error_response.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { type EnvServer, startEnvServer } from "../fakes/test_server.ts";
import type { SentFrame } from "../fakes/memory_transport.ts";
import { FakeClock } from "../fakes/fake_clock.ts";
import { barrier, closedWithin } from "./_helpers.ts";
import { until } from "../wait.ts";

const ISSUER = "https://issuer.test";
const AUDIENCE = "pharos-test";
const LIST = "Token/list";
const LATEST = "Token/latest";

const isSubscribed = (view: string) => (frames: SentFrame[]) =>
  frames.some((f) => f.json.op === "subscribed" && f.json.view === view);
const isAuthReply = (f: SentFrame) => !f.binary && "success" in f.json;
const errorFrames = (frames: SentFrame[], code: string) =>
  frames.filter((f) => f.json.type === "error" && f.json.code === code);

/** Subscribes to Token/list and waits for the ack: frames flow both ways. */
async function framesFlow(client: TestClient): Promise<void> {
  client.send({ type: "subscribe", view: LIST });
  await client.waitFor(isSubscribed(LIST), 5000, "the subscribed frame");
}

/** Waits until the server has let go of every socket (so the next test starts clean). */
async function drained(server: EnvServer): Promise<void> {
  await until(() => server.app.ws.clientCount === 0, "every socket to close");
}

Deno.test("static tokens: Authorization header or hs_token; wrong or none is refused (§6)", async (t) => {
  await using server = await startEnvServer({
    PHAROS_AUTH: "static",
    PHAROS_AUTH_TOKENS: "tok-alpha,tok-beta",
  });

  await t.step("right token as Authorization: Bearer → 101 and frames flow", async () => {
    await using client = await TestClient.connect(server.wsUrl, {
      authorization: "Bearer tok-alpha",
    });
    await framesFlow(client);
  });

  await t.step("right token as hs_token → 101 and frames flow", async () => {
    await using client = await TestClient.connect(`${server.wsUrl}/?hs_token=tok-beta`);
    await framesFlow(client);
  });

  await t.step("wrong token (header or hs_token) → 401 invalid-static-token", async () => {
    for (
      const attempt of [
        { headers: { authorization: "Bearer tok-gamma" } },
        { path: "/?hs_token=tok-gamma" },
        { path: "/?hs_token=tok-alph" }, // a prefix of a real token
        // The header wins over the parameter: a wrong header with a right hs_token fails.
        { path: "/?hs_token=tok-alpha", headers: { authorization: "Bearer wrong" } },
      ]
    ) {
      const body = await errorBody(
        await upgradeAttempt(server.httpUrl, attempt),
        401,
        "invalid-static-token",
      );
      assert.equal(body.retryable, false, JSON.stringify(attempt));
    }
  });

  await t.step("no token → 401 token-missing with a suggested action", async () => {
    const response = await upgradeAttempt(server.httpUrl);
    const body = await errorBody(response, 401, "token-missing");
    assert.equal(body.retryable, false);
    assert.equal(typeof body.suggested_action, "string");
    assert.equal(response.headers.get("retry-after"), null);
  });

  await t.step("a refused WebSocket never opens", async () => {
    const client = new TestClient(`${server.wsUrl}/?hs_token=nope`);
    await assert.rejects(client.opened);
    await client[Symbol.asyncDispose]();
  });

  await t.step("refresh_auth is not supported for static tokens: success false", async () => {
    await using client = await TestClient.connect(server.wsUrl, {
      authorization: "Bearer tok-alpha",
    });
    client.send({ type: "refresh_auth", token: "tok-beta" });
    const [reply] = (await client.waitFor((f) => f.some(isAuthReply), 5000, "the reply"))
      .filter(isAuthReply);
    assert.deepEqual(reply!.json, { success: false, error: "token-invalid" });
  });
  await drained(server);
});

/** One hostile-token attempt, what it tried and what the server answered. */
interface Attempt {
  readonly name: string;
  readonly tried: string;
  readonly expect: readonly [number, string];
  seen?: string;
  ok?: boolean;
}

/**
 * `token` with the last character of its signature changed in the bits base64url leaves
 * unused: it decodes to the same signature, so only a strict decoder can tell.
 */
function respelled(token: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(token.at(-1)!);
  return `${token.slice(0, -1)}${alphabet[last ^ 1]}`;
}

Deno.test("jwt: valid tokens connect; each hostile token is refused with its code", async (t) => {
  const key = await generateKeyPair("k1");
  const forger = await generateKeyPair();
  const forgerSameKid = await generateKeyPair("k1");
  await using jwks = await writeJwks(key.publicJwk);
  await using server = await startEnvServer({
    PHAROS_AUTH: "jwt",
    PHAROS_AUTH_PUBLIC_KEYS: jwks.path,
    PHAROS_AUTH_ISSUER: ISSUER,
    PHAROS_AUTH_AUDIENCE: AUDIENCE,
  });
  const sign = (payload: Record<string, unknown>) =>
    signJwt(key.privateKey, payload, { alg: "EdDSA", typ: "JWT", kid: "k1" });
  const good = await sign(claims(ISSUER, AUDIENCE));

  await t.step("valid token via hs_token and via Authorization → frames flow", async () => {
    await using a = await TestClient.connect(`${server.wsUrl}/?hs_token=${good}`);
    await framesFlow(a);
    await using b = await TestClient.connect(server.wsUrl, { authorization: `Bearer ${good}` });
    await framesFlow(b);
    // A token without kid may match any listed key; one with an origin claim connects
    // from that Origin and from non-browser clients (no Origin header).
    const bound = await signJwt(
      key.privateKey,
      claims(ISSUER, AUDIENCE, { origin: "https://app.example" }),
    );
    await using c = await TestClient.connect(server.wsUrl, {
      authorization: `Bearer ${bound}`,
      origin: "https://app.example",
    });
    await framesFlow(c);
    await using d = await TestClient.connect(`${server.wsUrl}/?hs_token=${bound}`);
    await framesFlow(d);
  });

  await t.step("hostile tokens (each via Authorization and via hs_token)", async () => {
    const now = nowSeconds();
    const tamperedPayload = (() => {
      const [h, , s] = good.split(".");
      const forged = btoa(JSON.stringify(claims(ISSUER, AUDIENCE, { sub: "root" })))
        .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      return `${h}.${forged}.${s}`;
    })();
    const cases: { name: string; token: string; expect: [number, string]; origin?: string }[] = [
      {
        name: "forged: signed by another key, no kid",
        token: await signJwt(forger.privateKey, claims(ISSUER, AUDIENCE)),
        expect: [401, "token-invalid-signature"],
      },
      {
        name: "forged: signed by another key claiming kid k1",
        token: await signJwt(forgerSameKid.privateKey, claims(ISSUER, AUDIENCE), {
          alg: "EdDSA",
          kid: "k1",
        }),
        expect: [401, "token-invalid-signature"],
      },
      {
        name: "payload swapped under a valid signature (sub=root)",
        token: tamperedPayload,
        expect: [401, "token-invalid-signature"],
      },
      {
        name: "expired (exp 2 min ago, beyond the 30 s leeway)",
        token: await sign(
          claims(ISSUER, AUDIENCE, { iat: now - 600, nbf: now - 600, exp: now - 120 }),
        ),
        expect: [401, "token-expired"],
      },
      {
        name: "not yet valid (nbf in 10 min)",
        token: await sign(claims(ISSUER, AUDIENCE, { nbf: now + 600, exp: now + 900 })),
        expect: [401, "token-expired"],
      },
      {
        name: "wrong audience",
        token: await sign(claims(ISSUER, "someone-else")),
        expect: [401, "token-invalid-audience"],
      },
      {
        name: "no audience",
        token: await sign(claims(ISSUER, AUDIENCE, { aud: undefined })),
        expect: [401, "token-invalid-audience"],
      },
      {
        name: "wrong issuer",
        token: await sign(claims("https://evil.test", AUDIENCE)),
        expect: [401, "token-invalid-issuer"],
      },
      {
        name: "alg none, empty signature",
        token: unsignedJwt(claims(ISSUER, AUDIENCE)),
        expect: [401, "token-invalid-signature"],
      },
      {
        name: "alg none with the real signature appended",
        token: `${unsignedJwt(claims(ISSUER, AUDIENCE))}${good.split(".")[2]}`,
        expect: [401, "token-invalid-signature"],
      },
      {
        name: "HS256 confusion: HMAC keyed with the raw public key bytes",
        token: await hs256Jwt(claims(ISSUER, AUDIENCE), fromBase64Url(key.publicJwk.x!)),
        expect: [401, "token-invalid-signature"],
      },
      {
        name: "HS256 confusion: HMAC keyed with the public JWK JSON",
        token: await hs256Jwt(
          claims(ISSUER, AUDIENCE),
          new TextEncoder().encode(JSON.stringify(key.publicJwk)),
        ),
        expect: [401, "token-invalid-signature"],
      },
      {
        name: "truncated: signature part dropped",
        token: good.slice(0, good.lastIndexOf(".")),
        expect: [400, "token-invalid-format"],
      },
      {
        name: "truncated: cut inside the header",
        token: good.slice(0, 10),
        expect: [400, "token-invalid-format"],
      },
      {
        name: "not a JWT at all",
        token: "hello",
        expect: [400, "token-invalid-format"],
      },
      {
        name: "crit: a critical header extension Pharos does not understand",
        token: await signJwt(key.privateKey, claims(ISSUER, AUDIENCE), {
          alg: "EdDSA",
          kid: "k1",
          crit: ["exp-policy"],
          "exp-policy": "strict",
        }),
        expect: [400, "token-invalid-format"],
      },
      {
        name: "unknown kid (a forger's key, not in the set)",
        token: await signJwt(forger.privateKey, claims(ISSUER, AUDIENCE), {
          alg: "EdDSA",
          kid: "k9",
        }),
        expect: [401, "token-invalid-signature"],
      },
      {
        name: "respelled: the signature's unused trailing bits flipped (same bytes)",
        token: respelled(good),
        expect: [400, "token-invalid-format"],
      },
      {
        name: "origin claim https://app.example, Origin https://evil.example",
        token: await sign(claims(ISSUER, AUDIENCE, { origin: "https://app.example" })),
        origin: "https://evil.example",
        expect: [403, "origin-mismatch"],
      },
    ];
    const attempts: Attempt[] = [];
    for (const c of cases) {
      const origin = c.origin === undefined ? {} : { origin: c.origin };
      for (const via of ["header", "hs_token"] as const) {
        const attempt: Attempt = {
          name: `${c.name} [${via}]`,
          tried: `${c.token.slice(0, 24)}… (${c.token.length} chars)`,
          expect: c.expect,
        };
        attempts.push(attempt);
        const response = await upgradeAttempt(
          server.httpUrl,
          via === "header"
            ? { headers: { authorization: `Bearer ${c.token}`, ...origin } }
            : { path: `/?hs_token=${encodeURIComponent(c.token)}`, headers: origin },
        );
        attempt.seen = `${response.status} ${response.headers.get("x-error-code")}`;
        try {
          const body = await errorBody(response, c.expect[0], c.expect[1]);
          assert.equal(body.retryable, c.expect[1] === "token-expired", "only expiry is retryable");
          attempt.ok = true;
        } catch (error) {
          attempt.ok = false;
          attempt.seen += ` (${(error as Error).message.split("\n")[0]})`;
        }
      }
    }
    const rejected = attempts.filter((a) => a.ok).length;
    for (const a of attempts) {
      console.log(
        `  ${a.ok ? "ok " : "BAD"} ${a.name}: expected ${a.expect.join(" ")}, saw ${a.seen}`,
      );
    }
    console.log(`auth: ${attempts.length} cases, ${rejected} rejected as expected`);
    assert.deepEqual(attempts.filter((a) => !a.ok).map((a) => `${a.name}: ${a.seen}`), []);
    assert.equal(server.app.ws.clientCount, 0, "no hostile token got a session");
  });
  await drained(server);
});

Deno.test("jwt limits claim: max_subscriptions and max_connections", async (t) => {
  const key = await generateKeyPair();
  await using jwks = await writeJwks(key.publicJwk);
  await using server = await startEnvServer({
    PHAROS_AUTH: "jwt",
    PHAROS_AUTH_PUBLIC_KEYS: jwks.path,
    PHAROS_AUTH_ISSUER: ISSUER,
    PHAROS_AUTH_AUDIENCE: AUDIENCE,
  });

  await t.step(
    "max_subscriptions 1: the second subscribe gets an error frame, socket stays open",
    async () => {
      const token = await signJwt(
        key.privateKey,
        claims(ISSUER, AUDIENCE, { sub: "carol", limits: { max_subscriptions: 1 } }),
      );
      await using client = await TestClient.connect(`${server.wsUrl}/?hs_token=${token}`);
      await framesFlow(client);
      client.send({ type: "subscribe", view: LATEST });
      const frames = await client.waitFor(
        (f) => errorFrames(f, "subscription-limit-exceeded").length > 0,
        5000,
        "subscription-limit-exceeded",
      );
      const error = errorFrames(frames, "subscription-limit-exceeded")[0]!.json;
      assert.equal(error.error, "subscription-limit-exceeded");
      assert.equal(error.fatal, false);
      assert.equal(typeof error.message, "string");
      assert.ok(!frames.some((f) => f.json.op === "subscribed" && f.json.view === LATEST));
      // Still open and answering.
      client.send({ type: "refresh_auth", token: "x" });
      await client.waitFor((f) => f.some(isAuthReply), 5000, "a reply after the error frame");
      assert.equal(client.socket.readyState, WebSocket.OPEN);
    },
  );

  await t.step("max_connections 1: a second connection of the subject → 429", async () => {
    const token = await signJwt(
      key.privateKey,
      claims(ISSUER, AUDIENCE, { sub: "dave", limits: { max_connections: 1 } }),
    );
    const first = await TestClient.connect(`${server.wsUrl}/?hs_token=${token}`);
    await framesFlow(first);
    const response = await upgradeAttempt(server.httpUrl, { path: `/?hs_token=${token}` });
    const body = await errorBody(response, 429, "connection-limit-exceeded");
    assert.equal(body.retryable, true);
    assert.equal(response.headers.get("retry-after"), String(body.retry_after));
    // Another subject is not affected.
    const other = await signJwt(key.privateKey, claims(ISSUER, AUDIENCE, { sub: "erin" }));
    await using third = await TestClient.connect(`${server.wsUrl}/?hs_token=${other}`);
    await framesFlow(third);
    // Once the first leaves, the subject may connect again.
    await first[Symbol.asyncDispose]();
    await until(() => server.app.ws.clientCount === 1, "the first socket to be released");
    await using again = await TestClient.connect(`${server.wsUrl}/?hs_token=${token}`);
    await framesFlow(again);
  });
  await drained(server);
});

Deno.test("refresh_auth over a real socket, and token expiry mid-session", async (t) => {
  const key = await generateKeyPair();
  const forger = await generateKeyPair();
  // Expiry is the server's clock: a fake one, moved past each `exp` instead of waiting.
  const clock = new FakeClock(Date.now());
  const secondsFromNow = (seconds: number) => Math.floor(clock.now() / 1000) + seconds;
  await using jwks = await writeJwks(key.publicJwk);
  await using server = await startEnvServer(
    {
      PHAROS_AUTH: "jwt",
      PHAROS_AUTH_PUBLIC_KEYS: jwks.path,
      PHAROS_AUTH_ISSUER: ISSUER,
      PHAROS_AUTH_AUDIENCE: AUDIENCE,
    },
    undefined,
    clock,
  );
  const token = (overrides: Record<string, unknown> = {}, signer = key) =>
    signJwt(signer.privateKey, claims(ISSUER, AUDIENCE, overrides));
  const replies = (client: TestClient) => client.frames.filter(isAuthReply).map((f) => f.json);
  async function refresh(client: TestClient, fresh: string) {
    const before = replies(client).length;
    client.send({ type: "refresh_auth", token: fresh });
    await client.waitFor(() => replies(client).length > before, 5000, "the refresh_auth reply");
    return replies(client)[before]!;
  }
  /** Moves the server's clock to `ms` before (negative: after) `exp`, in seconds. */
  const advanceTo = (exp: number, msBefore: number) =>
    clock.advance(exp * 1000 - msBefore - clock.now());

  await t.step("a fresh valid token → success with its exp; bad ones → success false", async () => {
    await using client = await TestClient.connect(`${server.wsUrl}/?hs_token=${await token()}`);
    await framesFlow(client);
    const exp = secondsFromNow(900);
    assert.deepEqual(await refresh(client, await token({ exp })), {
      success: true,
      expiresAt: exp,
    });
    for (
      const [what, bad] of [
        ["forged", await token({}, forger)],
        ["expired", await token({ exp: secondsFromNow(-120) })],
        ["garbage", "not-a-jwt"],
        ["another subject", await token({ sub: "mallory" })],
      ] as const
    ) {
      const reply = await refresh(client, bad);
      assert.equal(reply.success, false, what);
      assert.equal(typeof reply.error, "string", what);
      assert.match(String(reply.error), /^token-/, what);
      assert.deepEqual(Object.keys(reply).sort(), ["error", "success"], what);
    }
    assert.equal(client.socket.readyState, WebSocket.OPEN, "a refused refresh is not fatal");
  });

  let expiredClient: TestClient | undefined;
  await t.step(
    "a token reaching its exp → the session closes with 1008 token-expired",
    async () => {
      const exp = secondsFromNow(2);
      const client = await TestClient.connect(`${server.wsUrl}/?hs_token=${await token({ exp })}`);
      expiredClient = client;
      await framesFlow(client);
      advanceTo(exp, 1);
      await barrier(client); // a reply to a later message: the session is still open
      assert.equal(client.socket.readyState, WebSocket.OPEN, "open until exp");
      assert.deepEqual(errorFrames(client.frames, "token-expired"), []);
      clock.advance(1);
      const closed = await closedWithin(client, 5000);
      assert.equal(closed.code, 1008);
      assert.match(closed.reason, /^token-expired/);
    },
  );

  // Regression: the fatal error frame used to wait for the send scheduler while close()
  // dropped the queue, so a real client saw the 1008 close but never the frame.
  await t.step(
    "the token-expired error frame arrives before the close",
    () => {
      const client = expiredClient!;
      const [expired] = errorFrames(client.frames, "token-expired");
      assert.ok(
        expired,
        `a token-expired frame; got ${client.frames.map((f) => f.json.type ?? f.json.op)}`,
      );
      assert.equal(expired.json.fatal, true);
      assert.equal(expired.json.retryable, true);
    },
  );
  await expiredClient?.[Symbol.asyncDispose]();

  await t.step("a refresh before expiry keeps the session open past the old exp", async () => {
    const short = secondsFromNow(2);
    await using client = await TestClient.connect(
      `${server.wsUrl}/?hs_token=${await token({ exp: short })}`,
    );
    await framesFlow(client);
    const exp = secondsFromNow(600);
    assert.deepEqual(await refresh(client, await token({ exp })), {
      success: true,
      expiresAt: exp,
    });
    advanceTo(short, -1_500); // well past the first token's exp
    await barrier(client);
    assert.equal(client.socket.readyState, WebSocket.OPEN);
    assert.deepEqual(errorFrames(client.frames, "token-expired"), []);
  });
  await drained(server);
});

/** Samples of /metrics of a spawned server. */
async function metrics(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  return await response.text();
}

Deno.test("per-IP connections and messages per minute, with their metrics (main.ts)", async (t) => {
  await using proc = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_MAX_CONNECTIONS_PER_IP: "2",
    PHAROS_MAX_MESSAGES_PER_MINUTE: "5",
  });
  const port = await proc.port;
  const wsUrl = `ws://127.0.0.1:${port}`;
  const httpUrl = `http://127.0.0.1:${port}`;
  const a = await TestClient.connect(wsUrl);
  await using _a = a;
  await using b = await TestClient.connect(wsUrl);
  await framesFlow(b);

  await t.step("the third connection from 127.0.0.1 → 429 connection-limit-exceeded", async () => {
    const response = await upgradeAttempt(httpUrl);
    const body = await errorBody(response, 429, "connection-limit-exceeded");
    assert.equal(body.retryable, true);
    assert.ok(Number(response.headers.get("retry-after")) > 0);
  });

  await t.step("the 6th message in a minute → the session closes with 1008", async () => {
    for (let i = 0; i < 6; i++) a.send({ type: "ping" });
    const closed = await closedWithin(a, 5000);
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /^rate-limit-exceeded/);
    assert.equal(b.socket.readyState, WebSocket.OPEN, "other connections are unaffected");
  });

  // Regression: as for token-expired above.
  await t.step("the rate-limit-exceeded error frame arrives first", () => {
    const [frame] = errorFrames(a.frames, "rate-limit-exceeded");
    assert.ok(
      frame,
      `a rate-limit-exceeded frame; got ${a.frames.map((f) => f.json.type ?? f.json.op)}`,
    );
    assert.equal(frame.json.fatal, true);
    assert.equal(frame.json.retryable, true);
  });

  await t.step("a slot is free again once a connection ended", async () => {
    await using c = await TestClient.connect(wsUrl);
    await framesFlow(c);
  });

  await t.step("/metrics counts the limits and the rejections", async () => {
    const text = await metrics(port);
    assert.ok(sampleSum(text, "ws_limit_exceeded_total", { limit: "connections-per-ip" }) >= 1);
    assert.ok(sampleSum(text, "ws_limit_exceeded_total", { limit: "messages-per-minute" }) >= 1);
    assert.ok(
      sampleSum(text, "ws_handshake_rejections_total", { code: "connection-limit-exceeded" }) >= 1,
    );
  });
});

Deno.test("handshakes per minute: the 4th upgrade → 429 rate-limit-exceeded with Retry-After", async () => {
  await using proc = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_HANDSHAKES_PER_MINUTE: "3",
  });
  const port = await proc.port;
  for (let i = 0; i < 3; i++) {
    await using client = await TestClient.connect(`ws://127.0.0.1:${port}`);
    await framesFlow(client);
  }
  const response = await upgradeAttempt(`http://127.0.0.1:${port}`);
  const body = await errorBody(response, 429, "rate-limit-exceeded");
  const retryAfter = Number(response.headers.get("retry-after"));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `${retryAfter}`);
  assert.equal(body.retry_after, retryAfter);
  assert.equal(body.retryable, true);
  const text = await metrics(port);
  assert.ok(sampleSum(text, "ws_limit_exceeded_total", { limit: "handshake-rate" }) >= 1);
  assert.ok(sampleSum(text, "ws_handshake_rejections_total", { code: "rate-limit-exceeded" }) >= 1);
});
