/**
 * HyperStack's official client (`hyperstack-typescript`) with an `auth.getToken` provider,
 * against a real Pharos whose revocation list (a real file) comes to name the client's
 * token: the client is told (the fatal `token-revoked` socket issue), drops its token on
 * the 1008 "token revoked" close, asks the provider for a fresh one, reconnects, and
 * receives data again, with no help from the application.
 */
import assert from "node:assert/strict";
import { HyperStack } from "hyperstack-typescript";
import { claims, generateKeyPair, signJwt, writeJwks } from "../fakes/auth_keys.ts";
import { writeRevocationFile } from "../fakes/revocation_file.ts";
import { startEnvServer } from "../fakes/test_server.ts";
import { recordClient, tokenStack } from "./_helpers.ts";
import { until } from "../wait.ts";

const ISSUER = "https://issuer.test";
const AUDIENCE = "pharos-test";

Deno.test("HyperStack client: its token revoked, it reconnects with a fresh one from getToken", async () => {
  const key = await generateKeyPair("main");
  await using jwks = await writeJwks(key.publicJwk);
  await using list = await writeRevocationFile({});
  await using server = await startEnvServer({
    PHAROS_AUTH: "jwt",
    PHAROS_AUTH_PUBLIC_KEYS: jwks.path,
    PHAROS_AUTH_ISSUER: ISSUER,
    PHAROS_AUTH_AUDIENCE: AUDIENCE,
    PHAROS_AUTH_REVOKED: list.path,
    // The demo source: Token/list changes ten times a second, so data keeps arriving.
  });

  /** The token ids the provider handed out, in order: `hs-1`, `hs-2`, … */
  const issued: string[] = [];
  const hs = await HyperStack.connect(tokenStack(server.wsUrl), {
    url: server.wsUrl,
    auth: {
      getToken: async () => {
        const jti = `hs-${issued.length + 1}`;
        issued.push(jti);
        return await signJwt(key.privateKey, claims(ISSUER, AUDIENCE, { jti }), {
          alg: "EdDSA",
          typ: "JWT",
          kid: "main",
        });
      },
    },
  });
  await using recorded = recordClient(hs, server);
  const { states, issues, frames } = recorded;
  hs.getConnection().subscribe({ view: "Token/list" });
  await until(() => frames.length > 0, "Token/list data with the first token");
  assert.deepEqual(issued, ["hs-1"]);
  const sessionIds = () => [...server.app.ws.sessions()].map((s) => s.tokenId);
  assert.deepEqual(sessionIds(), ["hs-1"]);

  await list.write({ jti: ["hs-1"] });
  await until(
    () => issued.length === 2 && hs.connectionState === "connected",
    "the client to reconnect with a fresh token from getToken",
    10_000,
  );
  const reconnectedAt = frames.length;
  await until(() => frames.length > reconnectedAt, "Token/list data after the reconnect");

  assert.deepEqual(issued, ["hs-1", "hs-2"], "the provider was asked once more");
  assert.deepEqual(sessionIds(), ["hs-2"], "the server holds the new token's session only");
  const [issue] = issues;
  // The client names codes it does not know INTERNAL_ERROR; the server's code is `error`.
  assert.equal(issue?.error, "token-revoked");
  assert.equal(issue?.fatal, true);
  assert.ok(states.includes("error"), `states ${states}`);
  assert.equal(states.at(-1), "connected");
  assert.equal(server.telemetry.count("auth.revokedSessionsClosed"), 1);
});
