/**
 * The token revocation list in cluster mode, on a real redis-server with real `main.ts`
 * instances: only instance A reads the list (`PHAROS_AUTH_REVOKED`, a file); B has no
 * list of its own and follows the one A shares through Redis (`{prefix}:auth:revoked`).
 * B takes the list standing in Redis when it starts, refuses what it names at the upgrade,
 * and closes its own session whose token A's file comes to name within 5 s of the change;
 * a change A reads while Redis is down reaches B once Redis is back.
 */
import assert from "node:assert/strict";
import { claims, generateKeyPair, signJwt, upgradeAttempt, writeJwks } from "../fakes/auth_keys.ts";
import { type ClusterInstance, startInstance } from "../fakes/cluster_instance.ts";
import { startRedis } from "../fakes/redis_server.ts";
import { writeRevocationFile } from "../fakes/revocation_file.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { until, within } from "../wait.ts";

const ISSUER = "https://issuer.test";
const REVOCATION_BOUND_MS = 5_000;

/** `/status`'s `auth.revoked` of `instance`. */
async function revokedStatus(instance: ClusterInstance) {
  const status = await instance.status();
  return (status.auth as { revoked?: { source: string; jti: number; version: string | null } })
    ?.revoked;
}

Deno.test("cluster: one instance reads the revocation list, every instance applies it", async (t) => {
  const key = await generateKeyPair();
  await using jwks = await writeJwks(key.publicJwk);
  const token = (jti: string) => signJwt(key.privateKey, claims(ISSUER, "", { jti }));
  await using list = await writeRevocationFile({ jti: ["t-old"] });
  const auth = {
    PHAROS_AUTH: "jwt",
    PHAROS_AUTH_PUBLIC_KEYS: jwks.path,
    PHAROS_AUTH_ISSUER: ISSUER,
    PHAROS_LOG: "warn,pharos.ws.server=info,pharos.auth=info",
  };
  // Kept on disk across its restart (below), so the log and the shared list survive it.
  await using redis = await startRedis({ appendonly: true });
  await using a = await startInstance({
    id: "a",
    redisUrl: redis.url,
    env: { ...auth, PHAROS_AUTH_REVOKED: list.path },
  });
  await a.ready();
  await using b = await startInstance({ id: "b", redisUrl: redis.url, env: auth });
  await b.ready();
  const connectTo = async (instance: ClusterInstance, jti: string) => {
    const client = await TestClient.connect(
      `ws://127.0.0.1:${instance.port}/?hs_token=${await token(jti)}`,
    );
    client.send({ type: "subscribe", view: "Token/list" });
    await client.waitFor((frames) => frames.some((f) => f.json.op === "subscribed"));
    return client;
  };
  const refusedBy = async (instance: ClusterInstance, jti: string) => {
    const response = await upgradeAttempt(instance.url, {
      headers: { authorization: `Bearer ${await token(jti)}` },
    });
    await response.body?.cancel();
    return response.status === 401 && response.headers.get("x-error-code") === "token-revoked";
  };

  await t.step("B, without a list of its own, takes the one in Redis at start-up", async () => {
    const [onA, onB] = [await revokedStatus(a), await revokedStatus(b)];
    assert.equal(onA?.source, "file");
    assert.equal(onB?.source, "cluster");
    assert.equal(onB?.jti, 1);
    assert.equal(onB?.version, onA?.version);
    assert.ok(await refusedBy(b, "t-old"), "B refuses the token A's list names");
    assert.equal(await redis.cli("HGET", "pharos:auth:revoked", "version"), onA?.version);
  });

  await t.step("A's file revokes a session on B: closed within 5 s", async () => {
    const client = await connectTo(b, "t-live");
    const started = performance.now();
    await list.write({ jti: ["t-old", "t-live"] });
    const closed = await within(
      REVOCATION_BOUND_MS + 1_000,
      "B to close the session",
      client.closed,
    );
    const elapsedMs = performance.now() - started;
    assert.equal(closed.code, 1008);
    assert.equal(closed.reason, "token revoked");
    assert.ok(client.frames.some((f) => f.json.code === "token-revoked" && f.json.fatal === true));
    assert.ok(
      elapsedMs < REVOCATION_BOUND_MS,
      `closed ${elapsedMs.toFixed(0)} ms after the change`,
    );
    // deno-lint-ignore no-console -- the delay across instances, for the record
    console.log(
      `revocation: cluster, file on A, session on B: closed ${
        elapsedMs.toFixed(0)
      } ms after the change`,
    );
    await client[Symbol.asyncDispose]();
    assert.ok(await refusedBy(a, "t-live"));
  });

  await t.step("a change read while Redis is down reaches B once it is back", async () => {
    const client = await connectTo(b, "t-later");
    await redis.stop();
    await list.write({ jti: ["t-old", "t-live", "t-later"] });
    await until(async () => (await revokedStatus(a))?.jti === 3, "A to read the change", 5_000);
    await redis.start();
    const closed = await within(15_000, "B to close the session once Redis is back", client.closed);
    assert.equal(closed.reason, "token revoked");
    await client[Symbol.asyncDispose]();
    const [onA, onB] = [await revokedStatus(a), await revokedStatus(b)];
    assert.equal(onB?.version, onA?.version);
  });
});
