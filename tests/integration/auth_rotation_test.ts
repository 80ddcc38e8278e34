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
import { FakeClock } from "../fakes/fake_clock.ts";
import { startJwksServer } from "../fakes/jwks_server.ts";
import { type EnvServer, startEnvServer } from "../fakes/test_server.ts";
import { until } from "../wait.ts";

const ISSUER = "https://issuer.test";
const AUDIENCE = "pharos-test";
const COOLDOWN_MS = 300;
const MAX_AGE_MS = 1_000;

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
  // Cooldown and max age run on the server's clock: a fake one, moved on by the test.
  const clock = new FakeClock(Date.now());
  await using idp = startJwksServer([k1.publicJwk]);
  await using server = await startEnvServer(
    {
      PHAROS_AUTH: "jwt",
      PHAROS_AUTH_PUBLIC_KEYS: idp.url,
      PHAROS_AUTH_ISSUER: ISSUER,
      PHAROS_AUTH_AUDIENCE: AUDIENCE,
      PHAROS_AUTH_JWKS_COOLDOWN_MS: String(COOLDOWN_MS),
      PHAROS_AUTH_JWKS_MAX_AGE_MS: String(MAX_AGE_MS),
    },
    undefined,
    clock,
  );
  const refreshes = (outcome: string) =>
    server.telemetry.count("auth.keySetRefreshed", "unknown-kid", outcome);
  const t1 = await tokenOf(k1, "k1");
  const t2 = await tokenOf(k2, "k2");

  await t.step("k1 connects; k2, not published yet, is refused", async () => {
    assert.ok(await connects(server, t1));
    await refused(server, t2);
  });

  await t.step(
    "k2 published: accepted without a restart, once the cooldown allows a fetch",
    async () => {
      idp.publish([k1.publicJwk, k2.publicJwk]);
      clock.advance(COOLDOWN_MS - 1);
      await refused(server, t2); // the set was read at start-up, less than a cooldown ago
      assert.equal(idp.fetches(), 1, "no fetch within the cooldown");
      clock.advance(1);
      assert.ok(await connects(server, t2), "k2 accepted as soon as the cooldown is over");
      assert.equal(refreshes("updated"), 1);
    },
  );

  await t.step("a flood of tokens with unknown kids: at most one fetch per cooldown", async () => {
    clock.advance(COOLDOWN_MS);
    const before = idp.fetches();
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
    assert.equal(idp.fetches() - before, 1, "180 forged tokens within one cooldown: one fetch");
  });

  await t.step(
    "a key removed from the set is refused once the set is older than its max age",
    async () => {
      idp.publish([k2.publicJwk]);
      assert.ok(await connects(server, t1), "a young set is used as it is");
      clock.advance(MAX_AGE_MS);
      await refused(server, t1);
      assert.ok(await connects(server, t2));
    },
  );

  await t.step("the identity provider down: the keys in force keep working", async () => {
    idp.setDown(true);
    clock.advance(COOLDOWN_MS);
    // A forged kid asks for a fetch, which fails.
    await refused(server, await tokenOf(forger, "nobody"));
    assert.equal(refreshes("failed"), 1);
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
  const clock = new FakeClock(Date.now());
  await using jwks = await writeJwks(k1.publicJwk);
  await using server = await startEnvServer(
    {
      PHAROS_AUTH: "jwt",
      PHAROS_AUTH_PUBLIC_KEYS: jwks.path,
      PHAROS_AUTH_JWKS_COOLDOWN_MS: "100",
    },
    undefined,
    clock,
  );
  const t1 = await signJwt(k1.privateKey, claims(ISSUER, AUDIENCE), { alg: "EdDSA", kid: "k1" });
  const t2 = await signJwt(k2.privateKey, claims(ISSUER, AUDIENCE), { alg: "EdDSA", kid: "k2" });
  assert.ok(await connects(server, t1));
  await refused(server, t2);
  // As a deployment tool would: a new file moved over the old one.
  const next = `${jwks.path}.next`;
  await Deno.writeTextFile(next, JSON.stringify({ keys: [k2.publicJwk] }));
  await Deno.rename(next, jwks.path);
  clock.advance(100); // the file is looked at again at most once per cooldown
  assert.ok(await connects(server, t2), "the new file's key connects");
  await refused(server, t1);
  assert.equal(server.telemetry.count("auth.keySetRefreshed", "file-changed", "updated"), 1);
  await until(() => server.app.ws.clientCount === 0, "every socket to close");
});
