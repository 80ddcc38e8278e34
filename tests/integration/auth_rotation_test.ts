/**
 * JWT key rotation against a real server: a real HTTP JWKS server (an identity provider
 * whose key set the test changes, and takes down), and a JWKS file rewritten in place.
 * Keys added are accepted without a restart, an unknown `kid` fetches at most once per
 * cooldown however many tokens carry it, a key removed is refused once the set is older
 * than its max age, and an identity provider that is down keeps the old keys working.
 */
import assert from "node:assert/strict";
import {
  claims,
  generateKeyPair,
  opens,
  signJwt,
  type TestKeyPair,
  upgradeAttempt,
  writeJwks,
} from "../fakes/auth_keys.ts";
import { errorBody } from "../fakes/error_response.ts";
import { startJwksServer } from "../fakes/jwks_server.ts";
import { type EnvServer, startEnvServer } from "../fakes/test_server.ts";
import { until } from "./_helpers.ts";

const ISSUER = "https://issuer.test";
const AUDIENCE = "pharos-test";
const COOLDOWN_MS = 300;

/** A valid token signed by `key` and naming its `kid`. */
function tokenOf(key: TestKeyPair, kid: string): Promise<string> {
  return signJwt(key.privateKey, claims(ISSUER, AUDIENCE), { alg: "EdDSA", typ: "JWT", kid });
}

function connects(server: EnvServer, token: string): Promise<boolean> {
  return opens(server.wsUrl, { authorization: `Bearer ${token}` });
}

async function refused(server: EnvServer, token: string): Promise<void> {
  const response = await upgradeAttempt(server.httpUrl, {
    headers: { authorization: `Bearer ${token}` },
  });
  await errorBody(response, 401, "token-invalid-signature");
}

Deno.test("jwt keys from a JWKS URL rotate without a restart", async (t) => {
  const k1 = await generateKeyPair("k1");
  const k2 = await generateKeyPair("k2");
  const forger = await generateKeyPair();
  await using idp = startJwksServer([k1.publicJwk]);
  await using server = await startEnvServer({
    PHAROS_AUTH: "jwt",
    PHAROS_AUTH_PUBLIC_KEYS: idp.url,
    PHAROS_AUTH_ISSUER: ISSUER,
    PHAROS_AUTH_AUDIENCE: AUDIENCE,
    PHAROS_AUTH_JWKS_COOLDOWN_MS: String(COOLDOWN_MS),
    PHAROS_AUTH_JWKS_MAX_AGE_MS: "1000",
  });
  const refreshes = (outcome: string) =>
    server.telemetry.count("auth.keySetRefreshed", "unknown-kid", outcome);
  const t1 = await tokenOf(k1, "k1");
  const t2 = await tokenOf(k2, "k2");

  await t.step("k1 connects; k2, not published yet, is refused", async () => {
    assert.ok(await connects(server, t1));
    await refused(server, t2);
  });

  await t.step("k2 published: accepted without a restart, within the cooldown", async () => {
    idp.publish([k1.publicJwk, k2.publicJwk]);
    const publishedAt = Date.now();
    await until(() => connects(server, t2), "a k2 token to connect", 5_000);
    // One cooldown for the fetch it may wait behind, plus the handshake itself.
    const tookMs = Date.now() - publishedAt;
    assert.ok(tookMs < COOLDOWN_MS + 1_000, `k2 accepted ${tookMs} ms after it was published`);
    assert.ok(refreshes("updated") >= 1);
  });

  await t.step("a flood of tokens with unknown kids: at most one fetch per cooldown", async () => {
    const before = idp.fetches();
    const startedAt = Date.now();
    const forged = await Promise.all(
      Array.from(
        { length: 60 },
        (_, i) =>
          signJwt(forger.privateKey, claims(ISSUER, AUDIENCE), { alg: "EdDSA", kid: `f${i}` }),
      ),
    );
    for (let round = 0; round < 3; round++) {
      await Promise.all(forged.map((token) => refused(server, token)));
    }
    const elapsedMs = Date.now() - startedAt;
    const fetched = idp.fetches() - before;
    const allowed = Math.floor(elapsedMs / COOLDOWN_MS) + 1;
    assert.ok(
      fetched <= allowed,
      `${fetched} fetches for 180 forged tokens in ${elapsedMs} ms (cooldown ${COOLDOWN_MS} ms)`,
    );
  });

  await t.step("a key removed from the set is refused once the set is older than 1 s", async () => {
    idp.publish([k2.publicJwk]);
    await until(async () => !(await connects(server, t1)), "k1 to be refused", 5_000);
    await refused(server, t1);
    assert.ok(await connects(server, t2));
  });

  await t.step("the identity provider down: the keys in force keep working", async () => {
    idp.setDown(true);
    // Forged kids ask for a fetch (once per cooldown) until one has failed.
    await until(
      async () => {
        await refused(server, await tokenOf(forger, "nobody"));
        return refreshes("failed") > 0;
      },
      "a failed fetch",
      5_000,
    );
    assert.ok(await connects(server, t2));
    const status = await (await fetch(`${server.httpUrl}/status`)).json();
    assert.deepEqual(status.auth.jwks.keys, 1);
    assert.equal(status.auth.jwks.source, "url");
  });
  await until(() => server.app.ws.clientCount === 0, "every socket to close");
});

Deno.test("jwt keys from a JWKS file: a rewritten file is read again", async () => {
  const k1 = await generateKeyPair("k1");
  const k2 = await generateKeyPair("k2");
  await using jwks = await writeJwks(k1.publicJwk);
  await using server = await startEnvServer({
    PHAROS_AUTH: "jwt",
    PHAROS_AUTH_PUBLIC_KEYS: jwks.path,
    PHAROS_AUTH_JWKS_COOLDOWN_MS: "100",
  });
  const t1 = await signJwt(k1.privateKey, claims(ISSUER, AUDIENCE), { alg: "EdDSA", kid: "k1" });
  const t2 = await signJwt(k2.privateKey, claims(ISSUER, AUDIENCE), { alg: "EdDSA", kid: "k2" });
  assert.ok(await connects(server, t1));
  await refused(server, t2);
  // As a deployment tool would: a new file moved over the old one.
  const next = `${jwks.path}.next`;
  await Deno.writeTextFile(next, JSON.stringify({ keys: [k2.publicJwk] }));
  await Deno.rename(next, jwks.path);
  await until(() => connects(server, t2), "the new file's key to connect", 3_000);
  await refused(server, t1);
  assert.equal(server.telemetry.count("auth.keySetRefreshed", "file-changed", "updated"), 1);
  await until(() => server.app.ws.clientCount === 0, "every socket to close");
});
