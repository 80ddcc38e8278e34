/**
 * HyperStack's official TypeScript client (`hyperstack-typescript`, used as its documentation
 * shows, default reconnect settings) through a real load balancer (Debian's haproxy running
 * the shipped ops/haproxy/haproxy.cfg) in front of two cluster instances on a real
 * redis-server: the instance the client is on is SIGKILLed, the client reconnects through
 * the balancer to the other, and its view converges to what a fresh subscriber there sees,
 * events posted while it was away included.
 */
import assert from "node:assert/strict";
import { type ConnectionState, HyperStack } from "hyperstack-typescript";
import { type ClusterInstance, ingest, startInstance } from "../fakes/cluster_instance.ts";
import { startHaproxy } from "../fakes/haproxy.ts";
import { startRedis } from "../fakes/redis_server.ts";
import { countOf, MINTS, settled, snapshotOf, transfers } from "./_cluster.ts";
import { tokenStack } from "../integration/_helpers.ts";
import { until } from "../wait.ts";

interface Token {
  readonly mint: string;
  readonly transferCount: number;
  readonly _seq: string;
}

Deno.test("cluster behind haproxy: the HyperStack client's instance is killed, it reconnects and converges", async () => {
  await using redis = await startRedis();
  await using a = await startInstance({ id: "a", redisUrl: redis.url });
  await using b = await startInstance({ id: "b", redisUrl: redis.url });
  await Promise.all([a.ready(), b.ready()]);
  await using lb = await startHaproxy([a.port, b.port]);
  await until(async () => {
    const response = await fetch(`${lb.url}/ready`);
    await response.body?.cancel();
    return response.status === 200;
  }, "the balancer to answer /ready");

  assert.equal((await ingest(a, transfers(100, 8))).status, 202);
  await settled([a, b], 8);

  const hs = await HyperStack.connect(tokenStack(lb.wsUrl), { url: lb.wsUrl });
  using _hs = { [Symbol.dispose]: () => hs.disconnect() };
  const states: ConnectionState[] = [];
  hs.onConnectionStateChange((state) => states.push(state));
  // Subscribes now (the stream registers on creation); updates are read from the store.
  const watching = hs.views.Token.list.watch()[Symbol.asyncIterator]();
  await using _watching = { [Symbol.asyncDispose]: async () => void await watching.return?.() };
  const tokens = () =>
    new Map((hs.views.Token.list.getSync() as Token[] ?? []).map((t) => [t.mint, t]));
  await until(
    () => MINTS.every((mint) => tokens().get(mint)?.transferCount === 2),
    "the client's list snapshot through the balancer",
  );

  const connectionsOf = async (instance: ClusterInstance) =>
    Number((await instance.status()).connections);
  const connections = () => Promise.all([a, b].map(connectionsOf));
  let on: number[] = [];
  await until(
    async () => (on = await connections()).reduce((x, y) => x + y) === 1,
    "one client",
  );
  const [victim, survivor] = on[0] === 1 ? [a, b] : [b, a];

  await victim.kill();
  // Posted while the client has no connection: it must get them with its new snapshot.
  assert.equal((await ingest(survivor, transfers(200, 8))).status, 202);
  await until(
    async () => (await connectionsOf(survivor)) === 1 && hs.connectionState === "connected",
    "the client back, on the survivor",
    15_000,
  );
  assert.ok(states.includes("reconnecting"), `states: ${states}`);
  assert.equal((await ingest(survivor, transfers(300, 4))).status, 202); // live, after it
  await settled([survivor], 20);

  const fresh = await snapshotOf(survivor);
  for (const mint of MINTS) assert.equal(countOf(fresh, mint), 5, mint);
  await until(() => {
    const seen = tokens();
    return seen.size === fresh.size &&
      [...fresh].every(([mint, data]) =>
        seen.get(mint)?.transferCount === data.transferCount && seen.get(mint)?._seq === data._seq
      );
  }, "the client's view to converge to a fresh subscriber's");
  for (const [mint, data] of fresh) assert.deepEqual(tokens().get(mint), data, mint);
});
